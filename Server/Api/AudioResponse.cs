using MusicGen.Engine.Audio;
using MusicGen.Loaders;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>A piece's audio as an HTTP answer, in the encoding asked for: streamed while it is generated, or whole once it is done.</summary>
internal static class AudioResponse
{
    /// <summary>
    /// The audio of a piece while it is made: the format's header at once (the length is known, so a WAV or FLAC
    /// header states it and players show the duration), then the samples encoded as the generator hands them over.
    /// A generation (or an encoder) that fails midway ends the connection, so a client never takes a short file for
    /// a whole one. True when every sample was written. An encoder that cannot start (ffmpeg) is answered by
    /// <paramref name="encoderFailed"/> (default: a problem details 500).
    /// </summary>
    public static async Task<bool> StreamAsync(HttpContext http, GenerationJob job, int index, AudioEncoding encoding, string fileName,
        Func<MusicGenException, IResult>? encoderFailed = null)
    {
        var audio = job.Audio[index];
        var response = http.Response;
        var cancellation = http.RequestAborted;
        var pending = new PendingBytes();
        AudioWriter writer;
        try
        {
            writer = encoding.Open(pending, audio.SampleRate, audio.Channels, audio.Frames);
        }
        catch (MusicGenException e)
        {
            await (encoderFailed?.Invoke(e)
                ?? Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "The encoder could not start", detail: e.Message)).ExecuteAsync(http);
            return false;
        }
        using (writer)
        {
            response.ContentType = encoding.MediaType;
            if (encoding.WavBytesPerSample is int bytesPerSample) response.ContentLength = pending.Length + (long)audio.Frames * audio.Channels * bytesPerSample;
            long written = await SendChunksAsync(http, fileName, writer, pending, audio.ReadAsync(cancellation));
            return written == audio.Frames && writer.IsFinished;
        }
    }

    /// <summary>
    /// The header already in <paramref name="pending"/>, then each chunk as it comes, then the format's end; a failed
    /// write or encoder closes the connection, a client gone away ends it quietly. Returns the frames written.
    /// </summary>
    private static async Task<long> SendChunksAsync(HttpContext http, string fileName, AudioWriter writer, PendingBytes pending, IAsyncEnumerable<AudioClip> chunks)
    {
        var response = http.Response;
        var cancellation = http.RequestAborted;
        response.Headers.ContentDisposition = $"inline; filename=\"{fileName}\"";
        response.Headers.CacheControl = "no-store";
        long written = 0;
        try
        {
            await SendAsync(response, pending, cancellation);
            await foreach (var chunk in chunks)
            {
                writer.Write(chunk.Channels);
                written += chunk.Length;
                await SendAsync(response, pending, cancellation);
            }
            writer.Finish();
            await SendAsync(response, pending, cancellation);
        }
        catch (Exception e) when (e is IOException or MusicGenException)
        {
            http.Abort();
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The client went away.
        }
        return written;
    }

    /// <summary>
    /// A stream's audio to one more listener, from the next chunk on: the format's header at once (a WAV of unknown
    /// length), then each chunk as it comes, until the stream stops (the response ends cleanly) or fails or drops the
    /// listener for falling behind (the connection is closed).
    /// </summary>
    public static async Task ListenAsync(HttpContext http, LiveAudio audio, AudioEncoding encoding, string fileName)
    {
        var pending = new PendingBytes();
        using var listener = audio.Join(); // before the header goes: a client that has it hears every chunk from then on
        using var writer = encoding.Open(pending, audio.SampleRate, audio.Channels, null);
        http.Response.ContentType = encoding.MediaType;
        await SendChunksAsync(http, fileName, writer, pending, listener.ReadAllAsync(http.RequestAborted));
    }

    /// <summary>A finished piece, whole (with ranges, so players can seek).</summary>
    public static IResult Whole(AudioClip clip, AudioEncoding encoding, string fileName)
    {
        var bytes = new PendingBytes();
        using (var writer = encoding.Open(bytes, clip.SampleRate, clip.ChannelCount, clip.Length))
        {
            writer.Write(clip.Channels);
            writer.Finish();
        }
        return Results.File(bytes.Take(), encoding.MediaType, fileName, enableRangeProcessing: true);
    }

    private static async Task SendAsync(HttpResponse response, PendingBytes pending, CancellationToken cancellation)
    {
        byte[] bytes = pending.Take();
        if (bytes.Length > 0) await response.Body.WriteAsync(bytes, cancellation);
        await response.Body.FlushAsync(cancellation);
    }
}
