using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MusicGen.Engine;
using MusicGen.Loaders;
using MusicGen.Server.Generation;

namespace MusicGen.Server.Jobs;

/// <summary>What became of a submission.</summary>
public enum Admission
{
    /// <summary>The job waits in the queue.</summary>
    Queued,
    /// <summary>Refused: the queue is full.</summary>
    QueueFull,
    /// <summary>Refused: the server is stopping.</summary>
    ShuttingDown,
    /// <summary>Refused: as many streams as the server allows are playing.</summary>
    TooManyStreams,
}

/// <summary>
/// The one generator's schedule: submitted jobs wait in a bounded queue; whenever the generator is free, the
/// oldest job starts together with the queued jobs that can share its batch (same <see cref="GenerationParameters.BatchKey"/>),
/// up to the batch limit. Stopping refuses new work, cancels what waits, and lets the running batch finish
/// until the host's shutdown timeout, then cancels it. It drains before the web server stops listening (the
/// host's stopping phase comes before any service stops), so that meanwhile <c>/healthz</c> answers 503 and the
/// running batch's clients are served.
/// </summary>
public sealed class GenerationScheduler(
    IMusicGenerator generator, JobStore store, ServerMetrics metrics, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<GenerationScheduler> log)
    : IHostedLifecycleService, IDisposable
{
    private readonly LinkedList<GenerationJob> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private IReadOnlyList<GenerationJob> _running = [];

    /// <summary>Jobs waiting.</summary>
    public int QueueLength
    {
        get { lock (_queue) return _queue.Count; }
    }

    /// <summary>Whether the server has stopped taking work.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>Queues a job, unless the queue is full or the server is stopping.</summary>
    public Admission Submit(GenerationJob job)
    {
        lock (_queue)
        {
            if (IsStopping) return Admission.ShuttingDown;
            if (_queue.Count >= options.QueueLength)
            {
                metrics.Rejected();
                return Admission.QueueFull;
            }
            if (job.Live is null) store.Add(job); // streams are found through RadioStreams
            _queue.AddLast(job);
        }
        metrics.Submitted();
        _wake.Release();
        return Admission.Queued;
    }

    /// <summary>Cancels a queued or running job (a running batch stops when none of its jobs is wanted any more).</summary>
    public void Cancel(GenerationJob job)
    {
        lock (_queue) _queue.Remove(job);
        if (job.Cancel()) Finished(job);
    }

    /// <summary>Seconds a client should wait before trying again: the work ahead at the recent speed.</summary>
    public int RetryAfterSeconds()
    {
        double speed = metrics.StepsPerSecond > 0 ? metrics.StepsPerSecond : 10;
        int stepsAhead;
        lock (_queue) stepsAhead = _queue.Sum(j => j.Steps) + _running.Select(j => j.Steps - j.Step).DefaultIfEmpty(0).Max();
        return (int)Math.Clamp(Math.Ceiling(stepsAhead / speed / Math.Max(1, options.MaxBatch)), 1, 3600);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        // As soon as the host is asked to stop, before the web server waits for open requests: the queue's
        // followers (progress events, audio streams) then end at once instead of holding the shutdown open.
        lifetime.ApplicationStopping.Register(BeginStopping);
        return Task.CompletedTask;
    }

    private void BeginStopping()
    {
        GenerationJob[] waiting;
        lock (_queue)
        {
            if (IsStopping) return;
            _stopping.Cancel();
            waiting = [.. _queue];
            _queue.Clear();
        }
        foreach (var job in waiting) Cancel(job);
        // A stream never finishes by itself: it stops at once instead of holding the shutdown for its timeout.
        foreach (var job in _running.Where(j => j.Live is not null)) Cancel(job);
        _wake.Release();
        log.LogInformation("stopping: {Waiting} queued request(s) cancelled, {Running} running", waiting.Length, _running.Count);
    }

    /// <summary>Drains before the web server stops: see the class summary.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    /// <summary>Stops taking work and waits for the running batch, cancelling it when <paramref name="timeout"/> fires.</summary>
    private async Task DrainAsync(CancellationToken timeout)
    {
        BeginStopping();
        if (_loop.IsCompleted) return;
        try
        {
            await _loop.WaitAsync(timeout);
        }
        catch (OperationCanceledException)
        {
            log.LogWarning("shutdown timeout: cancelling the running batch");
            foreach (var job in _running) Cancel(job);
            await _loop;
        }
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RunAsync()
    {
        while (true)
        {
            await _wake.WaitAsync();
            if (IsStopping) return;
            var batch = TakeBatch();
            if (batch.Count > 0) await RunBatchAsync(batch);
        }
    }

    /// <summary>The oldest queued job and the queued jobs that can share its batch.</summary>
    private List<GenerationJob> TakeBatch()
    {
        lock (_queue)
        {
            var batch = new List<GenerationJob>();
            if (_queue.First is not { } first) return batch;
            object? key = first.Value.Parameters.BatchKey;
            int pieces = 0;
            for (var node = _queue.First; node is not null;)
            {
                var next = node.Next;
                var job = node.Value;
                bool joins = batch.Count == 0 || (key is not null && key.Equals(job.Parameters.BatchKey) && pieces + job.Parameters.Plan.Batch <= options.MaxBatch);
                if (joins)
                {
                    batch.Add(job);
                    pieces += job.Parameters.Plan.Batch;
                    _queue.Remove(node);
                }
                node = next;
            }
            // The semaphore counted one wake-up per submission; the jobs taken along need none of their own.
            for (int i = 1; i < batch.Count; i++) _wake.Wait(0);
            _running = batch;
            return batch;
        }
    }

    private async Task RunBatchAsync(List<GenerationJob> batch)
    {
        var first = batch[0].Parameters;
        // The seed is the first request's, or the one its plan drew for it.
        ulong seed = first.Plan.Sampling.Seed;
        int pieces = batch.Sum(j => j.Parameters.Plan.Batch);
        var offsets = new int[batch.Count];
        for (int i = 1; i < batch.Count; i++) offsets[i] = offsets[i - 1] + batch[i - 1].Parameters.Plan.Batch;
        foreach (var job in batch) job.Start(seed, pieces);
        metrics.RunningBatchSize = pieces;

        // The batch stops when every job in it is cancelled (or the server gives up waiting for it).
        using var cancellation = new CancellationTokenSource();
        var registrations = batch.Select(job => job.Cancellation.Token.Register(() =>
        {
            if (batch.All(j => j.Status == JobStatus.Cancelled)) cancellation.Cancel();
        })).ToArray();
        var progress = new SynchronousProgress(step =>
        {
            foreach (var job in batch) job.Report(step);
            metrics.StepsPerSecond = batch[0].StepsPerSecond ?? 0;
        });
        try
        {
            // Requests that share a batch differ only in their prompts: together they are the first with all of them.
            var plan = batch.Count == 1 ? first.Plan
                : generator.Prepare(first.Request with { Prompts = batch.SelectMany(j => j.Parameters.Plan.Prompts).ToArray(), Seed = seed }, RequestLimits.Engine);
            var results = await generator.GenerateAsync(plan, progress, (index, clip) =>
            {
                int owner = Array.FindLastIndex(offsets, o => o <= index);
                if (batch[owner].Live is { } live) live.Append(clip, cancellation.Token);
                else batch[owner].Audio[index - offsets[owner]].Append(clip);
            }, cancellation.Token);
            for (int i = 0; i < batch.Count; i++)
                if (batch[i].Complete(results.Skip(offsets[i]).Take(batch[i].Parameters.Plan.Batch).ToArray())) Finished(batch[i]);
            metrics.BatchDone(pieces, pieces * (double)plan.Frames / plan.FrameRate);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            log.LogInformation("batch of {Pieces} piece(s) cancelled", pieces);
        }
        catch (Exception e)
        {
            string message = e is MusicGenException ? e.Message : $"internal error ({e.GetType().Name}): {e.Message}";
            if (e is not MusicGenException) log.LogError(e, "generation failed");
            foreach (var job in batch)
                if (job.Fail(message)) Finished(job);
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
            lock (_queue) _running = [];
            metrics.RunningBatchSize = 0;
        }
    }

    private void Finished(GenerationJob job)
    {
        metrics.Finished(job.Status);
        if (job.Live is null) store.Finished(job);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _wake.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Reports on the generator's thread: Progress&lt;T&gt; would post to the thread pool and arrive out of order.</summary>
    private sealed class SynchronousProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
