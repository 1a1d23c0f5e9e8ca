using System.Net;
using MusicGen.Engine;
using MusicGen.Loaders;
using MusicGen.Server.Generation;

namespace MusicGen.Server;

/// <summary>How the server listens, whom it lets in, and its limits.</summary>
public sealed record ServerOptions
{
    /// <summary>Address to listen on; anything but loopback needs <see cref="ApiKey"/> or <see cref="NoAuth"/>.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port (0: any free port).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The key every <c>/v1</c> request must carry, or null.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Serve a non-loopback address without a key, on purpose.</summary>
    public bool NoAuth { get; init; }

    /// <summary>Requests that may wait for the generator; one more is refused with 429.</summary>
    public int QueueLength { get; init; } = 16;

    /// <summary>The most pieces generated together in one batch (and the most prompts one request may have).</summary>
    public int MaxBatch { get; init; } = 4;

    /// <summary>Finished generations kept for download; the oldest is forgotten first.</summary>
    public int KeepFinished { get; init; } = 64;

    /// <summary>The largest request body (uploads included), checked from Content-Length before reading it.</summary>
    public long MaxUploadBytes { get; init; } = 16L << 20;

    /// <summary>The longest prompt in characters (the token limit of the text encoder applies too).</summary>
    public int MaxPromptChars { get; init; } = 2000;

    /// <summary>
    /// The longest piece a request may ask, in seconds; beyond <see cref="Window"/> it is generated window by window
    /// (at most <see cref="MusicRequest.MaxDuration"/>).
    /// </summary>
    public double MaxDuration { get; init; } = 300;

    /// <summary>Seconds of each window of a long piece (the model's 30 s; smaller ones are for tests and experiments).</summary>
    public double Window { get; init; } = MusicRequest.MaxWindow;

    /// <summary>Seconds between the starts of the windows of a long piece when a request gives no <c>extend_stride</c>.</summary>
    public double ExtendStride { get; init; } = MusicRequest.DefaultExtendStride;

    /// <summary>Streams (<c>/v1/streams</c>) playing or waiting at once; each holds the generator while it plays, so one-shot requests wait behind it.</summary>
    public int MaxStreams { get; init; } = 1;

    /// <summary>A stream with no listener for this long stops itself, so that a forgotten one cannot hold the generator.</summary>
    public TimeSpan StreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How far ahead of real time a stream is generated: its generator waits beyond that, so that a listener playing
    /// it as it comes keeps up (and is not dropped for falling behind).
    /// </summary>
    public TimeSpan StreamLead { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stopping server lets the running batch finish before it cancels it (health checks answer 503 meanwhile).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The length of a piece when a request gives none: the checkpoint's, at most <see cref="MaxDuration"/>.</summary>
    public double DefaultDuration(ModelInfo model) => Math.Min(model.DefaultSeconds, MaxDuration);

    /// <summary>Whether <see cref="Host"/> is a loopback address, reachable from this machine only.</summary>
    public bool IsLoopback => Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(Host, out var address) && IPAddress.IsLoopback(address));

    /// <summary>Refuses settings that make no sense or that expose the model without a key by accident.</summary>
    public void Validate()
    {
        if (ApiKey is not null && NoAuth) throw new MusicGenException("give --api-key or --no-auth, not both");
        if (ApiKey is { Length: < 8 }) throw new MusicGenException("--api-key must be at least 8 characters");
        if (!IsLoopback && ApiKey is null && !NoAuth)
            throw new MusicGenException($"--host {Host} is reachable from other machines: give --api-key KEY (checked on every /v1 request) or --no-auth");
        if (Port is < 0 or > 65535) throw new MusicGenException($"--port {Port} must be in 0…65535");
        if (QueueLength < 1) throw new MusicGenException($"--queue {QueueLength} must be at least 1");
        if (MaxBatch < 1) throw new MusicGenException($"--max-batch {MaxBatch} must be at least 1");
        if (MaxStreams < 0) throw new MusicGenException($"--max-streams {MaxStreams} must be 0 (no streams) or more");
        if (StreamIdleTimeout <= TimeSpan.Zero) throw new MusicGenException($"--stream-idle-timeout {StreamIdleTimeout.TotalSeconds} s must be more than 0");
        if (StreamLead < TimeSpan.Zero) throw new MusicGenException($"the stream lead {StreamLead.TotalSeconds} s must not be negative");
        if (KeepFinished < 1) throw new MusicGenException($"--keep {KeepFinished} must be at least 1");
        try
        {
            // The longest piece, its windows and stride obey the engine's rules for a request.
            new MusicRequest { Duration = MaxDuration, Window = Window, ExtendStride = ExtendStride }.Validate();
        }
        catch (InvalidRequestException e)
        {
            throw new MusicGenException(e.Render(field => field switch
            {
                nameof(MusicRequest.Duration) => "--max-duration",
                nameof(MusicRequest.Window) => "--window",
                nameof(MusicRequest.ExtendStride) => "--extend-stride",
                _ => field,
            }));
        }
        if (ShutdownTimeout < TimeSpan.Zero) throw new MusicGenException($"--shutdown-timeout {ShutdownTimeout.TotalSeconds} s must not be negative");
        if (MaxUploadBytes < 1024) throw new MusicGenException($"the upload limit {MaxUploadBytes} bytes is too small");
    }
}
