using System.Text.Json;
using MusicGen.Engine;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>
/// The generation settings both request bodies take (<see cref="GenerationRequestBody"/>, and
/// <see cref="SpeechRequestBody"/> as extensions of OpenAI's request). Absent settings come from the checkpoint's
/// generation_config.json.
/// </summary>
public abstract class GenerationSettingsBody
{
    /// <summary>Seconds of audio, an audio prompt included (at most the server's limit, /healthz <c>max_seconds</c>; beyond one window generated window by window).</summary>
    public double? Duration { get; set; }

    /// <summary>Sampler seed: the same request with the same seed gives the same audio. Without one, the server picks it (and may batch the request with others).</summary>
    public ulong? Seed { get; set; }

    /// <summary>Sample among the k most likely codes (0: all).</summary>
    public int? TopK { get; set; }

    /// <summary>Sample among the most likely codes that make up this probability, in (0, 1].</summary>
    public double? TopP { get; set; }

    /// <summary>Softmax temperature, &gt; 0.</summary>
    public double? Temperature { get; set; }

    /// <summary>Classifier-free guidance scale; ≤ 1 turns it off.</summary>
    public double? Guidance { get; set; }

    /// <summary>Take the most likely code at every step instead of sampling.</summary>
    public bool? Greedy { get; set; }

    /// <summary>Seconds between the starts of the windows of a piece longer than one window, above 0 and below the window (default 18, audiocraft's).</summary>
    public double? ExtendStride { get; set; }

    /// <summary>Copies these settings onto <paramref name="other"/>.</summary>
    public void CopySettingsTo(GenerationSettingsBody other)
    {
        other.Duration = Duration;
        other.Seed = Seed;
        other.TopK = TopK;
        other.TopP = TopP;
        other.Temperature = Temperature;
        other.Guidance = Guidance;
        other.Greedy = Greedy;
        other.ExtendStride = ExtendStride;
    }
}

/// <summary>
/// The body of <c>POST /v1/generations</c> (JSON; a multipart form takes the same fields, plus a <c>melody</c> or
/// <c>continue</c> audio file).
/// </summary>
public sealed class GenerationRequestBody : GenerationSettingsBody
{
    /// <summary>Text description of the music (give this or <c>prompts</c>).</summary>
    public string? Prompt { get; set; }

    /// <summary>Several descriptions, generated together (at most the server's batch limit).</summary>
    public string[]? Prompts { get; set; }

    /// <summary>
    /// Changes of the text over a piece longer than one window, in order of time: each window is conditioned on the
    /// text of the latest change at or before its start, the prompt before the first (one schedule for all pieces).
    /// A request with a schedule is generated alone, not batched with others.
    /// </summary>
    public PromptChangeBody[]? Schedule { get; set; }
}

/// <summary>A change of a piece's text: from <c>seconds</c> into the piece (an audio prompt included) on, <c>text</c>.</summary>
public sealed class PromptChangeBody
{
    /// <summary>Seconds into the piece; the first window that starts at or after it takes the text.</summary>
    public double? Seconds { get; set; }

    /// <summary>The text from then on.</summary>
    public string? Text { get; set; }
}

/// <summary>Where to find a generation and its results.</summary>
/// <param name="Self">Its status.</param>
/// <param name="Audio">Its WAV (streamed while it is generated); <c>?piece=N</c> picks a piece of several.</param>
/// <param name="Codes">Its codes (safetensors, or JSON with <c>Accept: application/json</c>).</param>
/// <param name="Events">Its progress as server-sent events.</param>
public sealed record GenerationUrls(string Self, string Audio, string Codes, string Events)
{
    /// <summary>The URLs of the generation with this id.</summary>
    public static GenerationUrls For(string id) =>
        new($"/v1/generations/{id}", $"/v1/generations/{id}/audio", $"/v1/generations/{id}/codes", $"/v1/generations/{id}/events");
}

/// <summary>The answer to a submission.</summary>
/// <param name="Id">The generation's id.</param>
/// <param name="Status">Its status (queued).</param>
/// <param name="Urls">Where to find it.</param>
public sealed record GenerationAccepted(string Id, JobStatus Status, GenerationUrls Urls);

/// <summary>How far a generation is.</summary>
/// <param name="Step">Decoding steps done.</param>
/// <param name="Steps">Decoding steps in all.</param>
/// <param name="StepsPerSecond">Speed so far.</param>
/// <param name="SecondsLeft">Estimated seconds until done.</param>
public sealed record ProgressView(int Step, int Steps, double? StepsPerSecond, double? SecondsLeft);

/// <summary>The settings a generation ran with.</summary>
/// <param name="Prompts">Its prompts, one per piece.</param>
/// <param name="Duration">Seconds per piece.</param>
/// <param name="Seed">The seed used (the request's, or the one the server chose for its batch).</param>
/// <param name="TopK">Top-k.</param>
/// <param name="TopP">Top-p.</param>
/// <param name="Temperature">Temperature.</param>
/// <param name="Guidance">Guidance scale.</param>
/// <param name="Greedy">Whether it was greedy.</param>
/// <param name="ExtendStride">Seconds between the starts of the windows of a piece longer than one window.</param>
/// <param name="Melody">Whether a melody was uploaded.</param>
/// <param name="Continue">Whether audio to continue was uploaded.</param>
public sealed record GenerationParametersView(
    IReadOnlyList<string> Prompts, double Duration, ulong? Seed, int TopK, double TopP, double Temperature, double Guidance, bool Greedy,
    double ExtendStride, bool Melody, bool Continue);

/// <summary>A generation's status.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Status">queued, running, done, failed or cancelled.</param>
/// <param name="Created">When it was submitted.</param>
/// <param name="Started">When it started.</param>
/// <param name="Finished">When it finished.</param>
/// <param name="Progress">How far it is.</param>
/// <param name="Parameters">The settings used.</param>
/// <param name="Pieces">Pieces (one per prompt).</param>
/// <param name="BatchSize">Pieces generated together in its batch (its own and other requests').</param>
/// <param name="Error">Why it failed, in plain words.</param>
/// <param name="Urls">Where to find it.</param>
public sealed record GenerationStatusView(
    string Id, JobStatus Status, DateTimeOffset Created, DateTimeOffset? Started, DateTimeOffset? Finished, ProgressView Progress,
    GenerationParametersView Parameters, int Pieces, int? BatchSize, string? Error, GenerationUrls Urls)
{
    /// <summary>The view of a job now.</summary>
    public static GenerationStatusView Of(GenerationJob job)
    {
        var (request, plan) = (job.Parameters.Request, job.Parameters.Plan);
        var s = plan.Sampling;
        bool started = job.Status != JobStatus.Queued && job.Started is not null;
        return new GenerationStatusView(
            job.Id, job.Status, job.Created, job.Started, job.Finished,
            new ProgressView(job.Step, job.Steps, job.StepsPerSecond is double r ? Math.Round(r, 2) : null, job.SecondsLeft is double left ? Math.Round(left, 1) : null),
            new GenerationParametersView(plan.Prompts, request.Duration ?? (double)plan.Frames / plan.FrameRate, started || job.Parameters.SeedGiven ? job.Seed : null,
                s.TopK, s.TopP, s.Temperature, s.GuidanceScale, s.Greedy, request.ExtendStride ?? MusicRequest.DefaultExtendStride,
                request.Melodies.Count > 0, request.AudioPrompts.Count > 0),
            plan.Batch, started ? job.BatchSize : null, job.Error, GenerationUrls.For(job.Id));
    }
}

/// <summary>The answer of <c>/healthz</c>.</summary>
/// <param name="Status">ready, or stopping.</param>
/// <param name="Model">The model served.</param>
/// <param name="Device">Where it runs.</param>
/// <param name="SampleRate">Audio samples per second.</param>
/// <param name="Channels">Audio channels.</param>
/// <param name="MaxSeconds">The longest piece the server accepts.</param>
/// <param name="WindowSeconds">Seconds of one window: a longer piece is generated window by window.</param>
/// <param name="DefaultSeconds">The length of a piece when none is asked.</param>
/// <param name="Melody">Whether it follows melodies (else it continues audio).</param>
/// <param name="MaxPrompts">The most prompts in one request.</param>
/// <param name="AuthRequired">Whether /v1 needs an API key.</param>
public sealed record HealthView(string Status, string Model, string Device, int SampleRate, int Channels, double MaxSeconds, double WindowSeconds, double DefaultSeconds, bool Melody, int MaxPrompts, bool AuthRequired);

/// <summary>
/// A <c>POST /v1/audio/speech</c> body: OpenAI's speech request, <c>input</c> being the prompt, plus this server's
/// generation fields as extensions.
/// </summary>
public sealed class SpeechRequestBody : GenerationSettingsBody
{
    /// <summary>Required, as OpenAI requires it; any name is taken (the server serves the one model it loaded).</summary>
    public string? Model { get; set; }

    /// <summary>The prompt: text description of the music.</summary>
    public string? Input { get; set; }

    /// <summary>OpenAI's voice (a name or <c>{"id": …}</c>): music has no voice, so any value is ignored.</summary>
    public JsonElement? Voice { get; set; }

    /// <summary>OpenAI's voice instructions: ignored, as the voice is (describe the music in <c>input</c>).</summary>
    public string? Instructions { get; set; }

    /// <summary>mp3 (the default, as OpenAI's), opus, aac, flac, wav or pcm (raw 16-bit little-endian mono at 24 kHz, as OpenAI's).</summary>
    public string? ResponseFormat { get; set; }

    /// <summary>OpenAI's speed, 0.25 to 4.0: checked, and otherwise ignored (a tempo belongs in the prompt).</summary>
    public double? Speed { get; set; }

    /// <summary>audio (the default): the bytes, streamed while they are generated; sse is refused.</summary>
    public string? StreamFormat { get; set; }
}

/// <summary>An error as OpenAI's API answers one: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record OpenAiErrorBody(OpenAiError Error);

/// <summary>The error: its message, type (invalid_request_error, rate_limit_error, server_error), the body parameter at fault, and a code.</summary>
public sealed record OpenAiError(string Message, string Type, string? Param, string? Code);

/// <summary>
/// The body of <c>POST /v1/streams</c>: a stream without end takes a prompt and the sampling settings and
/// <c>extend_stride</c> of a generation; it has no <c>duration</c>.
/// </summary>
public sealed class StreamRequestBody : GenerationSettingsBody
{
    /// <summary>Text description of the music, until it is changed (<c>PUT /v1/streams/{id}/prompt</c>).</summary>
    public string? Prompt { get; set; }
}

/// <summary>The body of <c>PUT /v1/streams/{id}/prompt</c>.</summary>
public sealed class StreamPromptBody
{
    /// <summary>The text of the stream's windows from the next one on.</summary>
    public string? Text { get; set; }
}

/// <summary>Where to find a stream.</summary>
/// <param name="Self">Its status (GET) and its end (DELETE).</param>
/// <param name="Audio">Its audio, to any number of listeners: WAV of unknown length, or <c>?format=opus</c>.</param>
/// <param name="Prompt">Its text (PUT <c>{"text": …}</c>).</param>
public sealed record StreamUrls(string Self, string Audio, string Prompt)
{
    /// <summary>The URLs of the stream with this id.</summary>
    public static StreamUrls For(string id) => new($"/v1/streams/{id}", $"/v1/streams/{id}/audio", $"/v1/streams/{id}/prompt");
}

/// <summary>A stream's status.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Status">queued (waiting for the generator), running, cancelled (stopped) or failed.</param>
/// <param name="Text">The text its next window takes.</param>
/// <param name="Windows">Windows begun.</param>
/// <param name="Seconds">Seconds of audio played.</param>
/// <param name="Listeners">Listeners now.</param>
/// <param name="Created">When it was started.</param>
/// <param name="Started">When the generator began it.</param>
/// <param name="Finished">When it stopped.</param>
/// <param name="Seed">The sampler's seed.</param>
/// <param name="ExtendStride">Seconds between the starts of its windows.</param>
/// <param name="Error">Why it stopped, when the server stopped it or it failed.</param>
/// <param name="Urls">Where to find it.</param>
public sealed record StreamStatusView(
    string Id, JobStatus Status, string Text, int Windows, double Seconds, int Listeners, DateTimeOffset Created, DateTimeOffset? Started,
    DateTimeOffset? Finished, ulong Seed, double ExtendStride, string? Error, StreamUrls Urls)
{
    /// <summary>The view of a stream now.</summary>
    public static StreamStatusView Of(RadioStream stream)
    {
        var job = stream.Job;
        return new StreamStatusView(stream.Id, job.Status, stream.Prompt.Text, stream.Windows, Math.Round(stream.Seconds, 2), stream.Audio.Listeners,
            job.Created, job.Started, job.Finished, job.Parameters.Plan.Sampling.Seed,
            job.Parameters.Request.ExtendStride ?? MusicRequest.DefaultExtendStride,
            stream.StopReason ?? (job.Status == JobStatus.Failed ? job.Error : null), StreamUrls.For(stream.Id));
    }
}
