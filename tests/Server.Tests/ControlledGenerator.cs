using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Server.Generation;

namespace MusicGen.Server.Tests;

/// <summary>
/// A real generator the test holds at two gates: before a batch starts, and after its audio is out but before it
/// returns. It records every batch it was given and whether its cancellation fired.
/// </summary>
public sealed class ControlledGenerator(IMusicGenerator inner, bool holdStarts, bool holdFinishes) : IMusicGenerator
{
    private const int Open = int.MaxValue / 2;

    private readonly List<GenerationPlan> _batches = [];

    /// <summary>Released once per batch to let it start (always open unless held).</summary>
    public SemaphoreSlim Start { get; } = new(holdStarts ? 0 : Open);

    /// <summary>Released once per batch to let it return after its audio was handed over (always open unless held).</summary>
    public SemaphoreSlim Finish { get; } = new(holdFinishes ? 0 : Open);

    /// <summary>Signalled when a batch has started (passed the start gate).</summary>
    public SemaphoreSlim Started { get; } = new(0);

    /// <summary>Signalled when a batch's audio is out and it waits at the finish gate.</summary>
    public SemaphoreSlim AudioOut { get; } = new(0);

    /// <summary>Batches whose cancellation token fired.</summary>
    public int Cancelled;

    public IReadOnlyList<GenerationPlan> Batches
    {
        get { lock (_batches) return [.. _batches]; }
    }

    public ModelInfo Model => inner.Model;

    /// <summary>The golden generator behind gates that are held closed as asked.</summary>
    public static ControlledGenerator Golden(bool holdStarts = false, bool holdFinishes = false) => new(GoldenGenerator.Instance, holdStarts, holdFinishes);

    /// <summary>When set, the generation waits at this decoding step until <see cref="Step"/> is released.</summary>
    public int? HoldAtStep { get; init; }

    /// <summary>Released to let a generation held at <see cref="HoldAtStep"/> go on.</summary>
    public SemaphoreSlim Step { get; } = new(0);

    /// <summary>Signalled when a generation reaches <see cref="HoldAtStep"/> and waits there.</summary>
    public SemaphoreSlim Held { get; } = new(0);

    /// <summary>Passes progress on, stopping the generating thread at <see cref="HoldAtStep"/>.</summary>
    private sealed class HoldingProgress(IProgress<MusicGen.Engine.GenerationProgress> inner, ControlledGenerator owner) : IProgress<MusicGen.Engine.GenerationProgress>
    {
        public void Report(MusicGen.Engine.GenerationProgress value)
        {
            inner.Report(value);
            // Bounded, so that a failing test cannot leave the generating thread (and the server's shutdown) waiting.
            if (value.Step != owner.HoldAtStep) return;
            owner.Held.Release();
            owner.Step.Wait(TimeSpan.FromMinutes(1));
        }
    }

    public GenerationPlan Prepare(MusicRequest request, RequestLimits limits) => inner.Prepare(request, limits);

    public async Task<IReadOnlyList<GeneratedPiece>> GenerateAsync(GenerationPlan batch, IProgress<MusicGen.Engine.GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation)
    {
        lock (_batches) _batches.Add(batch);
        using var registration = cancellation.Register(() => Interlocked.Increment(ref Cancelled));
        await Start.WaitAsync(cancellation);
        Started.Release();
        var held = new HoldingProgress(progress, this);
        var pieces = await inner.GenerateAsync(batch, held, audio, cancellation);
        AudioOut.Release();
        await Finish.WaitAsync(cancellation);
        return pieces;
    }
}
