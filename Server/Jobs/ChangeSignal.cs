namespace MusicGen.Server.Jobs;

/// <summary>Wakes every waiter on the next change: a task that completes when <see cref="Notify"/> is next called.</summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource _next = NewSource();

    /// <summary>Completes on the next <see cref="Notify"/> (or when <paramref name="cancellation"/> fires).</summary>
    public Task NextAsync(CancellationToken cancellation) => Volatile.Read(ref _next).Task.WaitAsync(cancellation);

    /// <summary>Wakes everyone waiting now.</summary>
    public void Notify() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
