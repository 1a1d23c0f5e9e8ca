using MusicGen.Engine;
using MusicGen.Server.Generation;

namespace MusicGen.Server.Jobs;

/// <summary>Where a generation is.</summary>
public enum JobStatus
{
    /// <summary>Waiting for the generator.</summary>
    Queued,
    /// <summary>Being generated.</summary>
    Running,
    /// <summary>Generated; the audio and codes can be fetched.</summary>
    Done,
    /// <summary>Stopped by an error.</summary>
    Failed,
    /// <summary>Stopped by a client or by the server's shutdown.</summary>
    Cancelled,
}

/// <summary>
/// A checked request: what was asked, and the plan the engine made of it. Requests with the same
/// <see cref="BatchKey"/> may be generated together as one batch.
/// </summary>
/// <param name="Request">The request as the server read it (its unset settings filled with the server's defaults).</param>
/// <param name="Plan">The engine's plan of it: its pieces, their length, steps and sampling settings.</param>
/// <param name="SeedGiven">Whether the request named a seed (else the plan's seed is the server's pick).</param>
public sealed record GenerationParameters(MusicRequest Request, GenerationPlan Plan, bool SeedGiven)
{
    /// <summary>
    /// Requests with equal keys share a batch. Uploads, a schedule, a stream's live prompt, and a sampled request with its own seed (which must give
    /// the same audio as the same request alone), run alone: null. The sampler draws for the batch from one seed,
    /// so greedy requests and sampled requests without a seed are the ones that can be batched.
    /// </summary>
    public object? BatchKey =>
        Request.AudioPrompts.Count > 0 || Request.Melodies.Count > 0 || Request.Schedule.Count > 0 || Request.LivePrompt is not null || (SeedGiven && !Plan.Sampling.Greedy)
            ? null
            : (Request.Duration, Request.Window, Request.ExtendStride, Plan.Sampling with { Seed = 0 });
}

/// <summary>One request's generation: its state, progress, audio as it is made, and results.</summary>
public sealed class GenerationJob
{
    private readonly Lock _lock = new();

    /// <summary>
    /// A new queued job; its audio streams know their length already. A stream's job (a plan without end) plays its
    /// audio to <paramref name="live"/> instead, keeping none.
    /// </summary>
    public GenerationJob(string id, GenerationParameters parameters, ModelInfo model, LiveAudio? live = null)
    {
        Id = id;
        Parameters = parameters;
        var plan = parameters.Plan;
        Seed = plan.Sampling.Seed;
        Steps = plan.Steps;
        Live = live;
        Audio = live is not null ? [] : Enumerable.Range(0, plan.Batch).Select(item => new PieceAudio(model.SampleRate, model.Channels, plan.SamplesOf(item))).ToArray();
    }

    /// <summary>A stream's audio, played to its listeners (then <see cref="Audio"/> is empty); null for a generation.</summary>
    public LiveAudio? Live { get; }

    /// <summary>The id clients name it by (random, not guessable).</summary>
    public string Id { get; }

    /// <summary>What was asked.</summary>
    public GenerationParameters Parameters { get; }

    /// <summary>Fires when the job is cancelled.</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Fires on every change of state or progress.</summary>
    public ChangeSignal Changed { get; } = new();

    /// <summary>The audio of each piece, streamed as it is made.</summary>
    public PieceAudio[] Audio { get; }

    /// <summary>When it was submitted.</summary>
    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    /// <summary>When it started running.</summary>
    public DateTimeOffset? Started { get; private set; }

    /// <summary>When it finished (done, failed or cancelled).</summary>
    public DateTimeOffset? Finished { get; private set; }

    /// <summary>Where it is.</summary>
    public JobStatus Status { get; private set; } = JobStatus.Queued;

    /// <summary>Decoding steps done.</summary>
    public int Step { get; private set; }

    /// <summary>Decoding steps in all.</summary>
    public int Steps { get; private set; }

    /// <summary>Decoding steps per second so far (of the batch it runs in).</summary>
    public double? StepsPerSecond { get; private set; }

    /// <summary>The seed its batch used.</summary>
    public ulong Seed { get; private set; }

    /// <summary>Pieces in the batch it ran in (its own and other requests').</summary>
    public int BatchSize { get; private set; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; private set; }

    /// <summary>The pieces, once done.</summary>
    public IReadOnlyList<GeneratedPiece>? Results { get; private set; }

    /// <summary>Whether it is done, failed or cancelled.</summary>
    public bool IsFinished => Status is JobStatus.Done or JobStatus.Failed or JobStatus.Cancelled;

    /// <summary>Seconds until it is done, at the speed so far.</summary>
    public double? SecondsLeft => StepsPerSecond is > 0 && !IsFinished ? (Steps - Step) / StepsPerSecond : null;

    internal void Start(ulong seed, int batchSize) => Update(() =>
    {
        Status = JobStatus.Running;
        Started = DateTimeOffset.UtcNow;
        Seed = seed;
        BatchSize = batchSize;
    });

    internal void Report(GenerationProgress progress) => Update(() =>
    {
        Step = progress.Step;
        Steps = progress.Total;
        StepsPerSecond = progress.StepsPerSecond;
    });

    /// <summary>Done with these pieces, unless it was cancelled meanwhile; true when it is done now.</summary>
    internal bool Complete(IReadOnlyList<GeneratedPiece> results) => Finish(JobStatus.Done, null, () => Results = results);

    /// <summary>Failed, unless it had finished; true when it failed now.</summary>
    internal bool Fail(string error) => Finish(JobStatus.Failed, error);

    /// <summary>Cancels it unless it has finished; true when it was cancelled now.</summary>
    internal bool Cancel() => Finish(JobStatus.Cancelled, "cancelled");

    private bool Finish(JobStatus status, string? error, Action? then = null)
    {
        bool changed = false;
        Update(() =>
        {
            if (IsFinished) return;
            Status = status;
            Error = error;
            Finished = DateTimeOffset.UtcNow;
            then?.Invoke();
            changed = true;
        });
        if (!changed) return false;
        if (status != JobStatus.Done)
        {
            foreach (var audio in Audio) audio.Fail($"the generation {status.ToString().ToLowerInvariant()}" + (error is null || status == JobStatus.Cancelled ? "" : $": {error}"));
            Live?.End(status == JobStatus.Failed ? $"the stream failed: {error}" : null); // a stopped stream ends its listeners cleanly
            Cancellation.Cancel();
        }
        return true;
    }

    private void Update(Action change)
    {
        lock (_lock) change();
        Changed.Notify();
    }
}
