using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>The <c>/v1/generations</c> API: submit, status, audio (streamed), codes, progress events, cancel.</summary>
public static class GenerationEndpoints
{
    private const string WavType = "audio/wav";

    /// <summary>Adds the routes to the <c>/v1</c> group.</summary>
    public static void Map(RouteGroupBuilder v1)
    {
        var generations = v1.MapGroup("/generations").WithTags("generations");
        generations.MapPost("", SubmitAsync)
            .WithName("CreateGeneration")
            .WithSummary("Queue a generation")
            .WithDescription("JSON, or a multipart form with the same fields plus a `melody` or `continue` audio file. Answers 202 with the id "
                + "and URLs; with `Accept: audio/wav` (or audio/flac, audio/ogg, audio/mpeg, audio/aac; or `?format=`) it answers the audio itself, "
                + "streamed, and a client that disconnects cancels it.")
            .Accepts<GenerationRequestBody>("application/json", "multipart/form-data")
            .Produces<GenerationAccepted>(StatusCodes.Status202Accepted)
            .Produces(StatusCodes.Status200OK, contentType: WavType)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesValidationProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        generations.MapGet("/{id}", (string id, JobStore store) => store.Find(id) is { } job ? Results.Ok(GenerationStatusView.Of(job)) : NotFound(id))
            .WithName("GetGeneration").WithSummary("A generation's status, progress and settings")
            .Produces<GenerationStatusView>().ProducesProblem(StatusCodes.Status404NotFound);
        generations.MapGet("/{id}/audio", AudioAsync)
            .WithName("GetGenerationAudio")
            .WithSummary("The audio of a piece (streamed while it is generated); piece is 1-based, format wav (16-bit, as pcm16, the default), "
                + "float32 (a WAV of 32-bit floats), flac, opus, mp3 or aac (mp3 and aac need ffmpeg on the server)")
            .Produces(StatusCodes.Status200OK, contentType: WavType)
            .Produces(StatusCodes.Status200OK, contentType: "audio/flac")
            .Produces(StatusCodes.Status200OK, contentType: "audio/ogg")
            .Produces(StatusCodes.Status200OK, contentType: "audio/mpeg")
            .Produces(StatusCodes.Status200OK, contentType: "audio/aac")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
        generations.MapGet("/{id}/codes", Codes)
            .WithName("GetGenerationCodes")
            .WithSummary("The codes of a piece [channels, codebooks, frames]: safetensors, or JSON with Accept: application/json")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
        generations.MapGet("/{id}/events", EventsAsync)
            .WithName("GetGenerationEvents")
            .WithSummary("Progress as server-sent events: 'status' events, then one named done, failed or cancelled")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
        generations.MapDelete("/{id}", Delete)
            .WithName("DeleteGeneration")
            .WithSummary("Cancels a queued or running generation, or forgets a finished one")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, RequestReader reader, GenerationScheduler scheduler, Generation.IMusicGenerator generator)
    {
        if (scheduler.IsStopping) return Stopping();
        AudioEncoding? encoding;
        GenerationParameters parameters;
        try
        {
            encoding = AnsweredEncoding(http.Request);
            parameters = await reader.ReadAsync(http.Request, http.RequestAborted);
        }
        catch (RequestProblem problem)
        {
            // The rest of a body over the limit is never read, so the connection cannot carry another request: say so,
            // or a client reuses it and finds it closed under its next request.
            if (problem.Status == StatusCodes.Status413PayloadTooLarge) http.Response.Headers.Connection = "close";
            return problem.ToResult();
        }
        var job = new GenerationJob(Guid.NewGuid().ToString("N"), parameters, generator.Model);
        if (Admit(http, scheduler, job) is { } refused) return refused;
        if (encoding is null) return Results.Accepted(GenerationUrls.For(job.Id).Self, new GenerationAccepted(job.Id, job.Status, GenerationUrls.For(job.Id)));

        // The client waits for the audio itself: when it goes away early, nobody else knows the id, so the work stops.
        // Once every sample is out the job is left to finish: its last chunk precedes the codes and the job's
        // completion, and the client may hang up in between.
        if (!await AudioResponse.StreamAsync(http, job, 0, encoding, FileName(job, 0, encoding.Extension))) scheduler.Cancel(job);
        return Results.Empty;
    }

    /// <summary>Queues a job, or the answer when the queue is full or the server stopping.</summary>
    private static IResult? Admit(HttpContext http, GenerationScheduler scheduler, GenerationJob job) => Refusal(http, scheduler, scheduler.Submit(job));

    /// <summary>The answer to a submission the queue refused (429 when it is full, 503 when the server is stopping), or null when it was queued.</summary>
    internal static IResult? Refusal(HttpContext http, GenerationScheduler scheduler, Admission admission)
    {
        switch (admission)
        {
            case Admission.QueueFull:
                int retry = scheduler.RetryAfterSeconds();
                http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "The queue is full",
                    detail: $"{scheduler.QueueLength} requests are waiting; try again in about {retry} s");
            case Admission.ShuttingDown:
                return Stopping();
            default:
                return null;
        }
    }

    /// <summary>
    /// The encoding the client wants the audio answered in (<c>?format=</c>, else an audio type it accepts), or null
    /// for the 202 answer; a format the server cannot write is refused before the request is read.
    /// </summary>
    private static AudioEncoding? AnsweredEncoding(HttpRequest request)
    {
        AudioEncoding? encoding;
        string field;
        if (request.Query["format"].FirstOrDefault() is { } name)
        {
            field = "format";
            encoding = AudioEncoding.FromName(name) ?? throw new RequestProblem(StatusCodes.Status400BadRequest, field, $"'{name}' is not one of {AudioEncoding.Names}");
        }
        else
        {
            field = "Accept";
            encoding = MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)
                ? accepted.Select(a => AudioEncoding.FromMediaType(a.MediaType.Value ?? "")).FirstOrDefault(e => e is not null)
                : null;
        }
        return encoding?.Unavailable(field) is { } problem ? throw problem : encoding;
    }

    private static async Task<IResult> AudioAsync(HttpContext http, string id, JobStore store, int? piece, string? format)
    {
        if (store.Find(id) is not { } job) return NotFound(id);
        if (PieceIndex(job, piece) is not int index) return new RequestProblem(400, "piece", $"must be 1…{job.Audio.Length}").ToResult();
        if (AudioEncoding.FromName(format) is not { } encoding) return new RequestProblem(400, "format", $"must be {AudioEncoding.Names}").ToResult();
        if (encoding.Unavailable("format") is { } unavailable) return unavailable.ToResult();
        if (job.Status is JobStatus.Failed or JobStatus.Cancelled) return NotAvailable(job);
        string fileName = FileName(job, index, encoding.Extension);
        if (job.Results is { } results) return AudioResponse.Whole(results[index].Audio, encoding, fileName);
        await AudioResponse.StreamAsync(http, job, index, encoding, fileName);
        return Results.Empty;
    }

    private static IResult Codes(HttpContext http, string id, JobStore store, int? piece)
    {
        if (store.Find(id) is not { } job) return NotFound(id);
        if (PieceIndex(job, piece) is not int index) return new RequestProblem(400, "piece", $"must be 1…{job.Audio.Length}").ToResult();
        if (job.Results is not { } results) return NotAvailable(job);
        bool json = MediaTypeHeaderValue.TryParseList(http.Request.Headers.Accept, out var accepted)
            && accepted.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase));
        string extension = json ? ".json" : ".safetensors";
        // CodesFile writes files; a private temporary one is read back and deleted.
        string path = Path.Combine(ServerTempFolder.Create(), Guid.NewGuid().ToString("N") + extension);
        try
        {
            CodesFile.Save(path, results[index].Codes with { Samples = results[index].Audio.Length });
            return Results.File(File.ReadAllBytes(path), json ? "application/json" : "application/octet-stream", FileName(job, index, extension));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<IResult> EventsAsync(HttpContext http, string id, JobStore store, IOptions<JsonOptions> json)
    {
        if (store.Find(id) is not { } job) return NotFound(id);
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        var cancellation = http.RequestAborted;
        try
        {
            while (true)
            {
                Task changed = job.Changed.NextAsync(cancellation);
                var view = GenerationStatusView.Of(job);
                string name = view.Status is JobStatus.Queued or JobStatus.Running ? "status" : view.Status.ToString().ToLowerInvariant();
                await response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(view, json.Value.SerializerOptions)}\n\n", cancellation);
                await response.Body.FlushAsync(cancellation);
                if (name != "status") break;
                // At most ten updates a second, and a comment every 15 s keeps proxies from closing an idle stream.
                await Task.Delay(100, cancellation);
                if (await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(15), cancellation)) != changed)
                    await response.WriteAsync(": still here\n\n", cancellation);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The client went away.
        }
        return Results.Empty;
    }

    private static IResult Delete(string id, JobStore store, GenerationScheduler scheduler)
    {
        if (store.Find(id) is not { } job) return NotFound(id);
        if (job.IsFinished) store.Remove(job);
        else scheduler.Cancel(job);
        return Results.NoContent();
    }

    private static int? PieceIndex(GenerationJob job, int? piece) => (piece ?? 1) is int p && p >= 1 && p <= job.Audio.Length ? p - 1 : null;

    internal static string FileName(GenerationJob job, int index, string extension) =>
        $"musicgen-{job.Id[..8]}{(job.Audio.Length > 1 ? $"-{index + 1}" : "")}{extension}";

    private static IResult NotFound(string id) => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such generation",
        detail: $"no generation has the id '{id}' (finished ones are forgotten after a while, oldest first)");

    private static IResult NotAvailable(GenerationJob job) => Results.Problem(statusCode: StatusCodes.Status409Conflict,
        title: "Not available", detail: job.Status switch
        {
            JobStatus.Failed => $"the generation failed: {job.Error}",
            JobStatus.Cancelled => "the generation was cancelled",
            _ => $"the generation is {job.Status.ToString().ToLowerInvariant()}; the codes come when it is done",
        });

    internal static IResult Stopping() => Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Shutting down",
        detail: "the server is stopping and takes no new work");
}
