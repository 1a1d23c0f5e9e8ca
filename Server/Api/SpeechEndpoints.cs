using MusicGen.Server.Generation;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>
/// <c>POST /v1/audio/speech</c>: OpenAI's audio request shape over the same queue, batching and limits as
/// <c>/v1/generations</c>, for clients that already speak it. Answers the audio bytes, streamed while they are
/// generated; every refusal is in OpenAI's error shape.
/// </summary>
public static class SpeechEndpoints
{
    /// <summary>The response formats OpenAI's API offers, all of which are served.</summary>
    private static readonly string[] ResponseFormats = ["mp3", "opus", "aac", "flac", "wav", "pcm"];

    /// <summary>OpenAI's range for <c>speed</c>.</summary>
    private const double MinSpeed = 0.25, MaxSpeed = 4.0;

    /// <summary>Adds the route to the <c>/v1</c> group.</summary>
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapPost("/audio/speech", SpeechAsync)
            .WithTags("openai")
            .WithName("CreateSpeech")
            .WithSummary("OpenAI-style: the music for `input`, streamed in `response_format`")
            .WithDescription("OpenAI's speech request (`model` required, any name; `voice` and `instructions` ignored; `speed` 0.25…4 checked and "
                + "ignored; `stream_format` audio only) plus this server's `duration`, `seed`, `top_k`, `top_p`, `temperature`, `guidance`, `greedy`, "
                + "`extend_stride`. Errors are OpenAI's: {\"error\": {\"message\", \"type\", \"param\", \"code\"}}.")
            .Accepts<SpeechRequestBody>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "audio/mpeg")
            .Produces<OpenAiErrorBody>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorBody>(StatusCodes.Status429TooManyRequests)
            .Produces<OpenAiErrorBody>(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> SpeechAsync(HttpContext http, RequestReader reader, GenerationScheduler scheduler, IMusicGenerator generator)
    {
        if (scheduler.IsStopping) return Error(StatusCodes.Status503ServiceUnavailable, "the server is stopping and takes no new work", null, "server_shutting_down");
        AudioEncoding encoding;
        GenerationParameters parameters;
        try
        {
            var body = await RequestReader.ReadJsonBodyAsync<SpeechRequestBody>(http.Request, http.RequestAborted);
            encoding = Check(body);
            var request = new GenerationRequestBody { Prompt = body.Input };
            body.CopySettingsTo(request);
            parameters = reader.Prepare(request);
        }
        catch (RequestProblem problem)
        {
            return From(problem);
        }
        var job = new GenerationJob(Guid.NewGuid().ToString("N"), parameters, generator.Model);
        switch (scheduler.Submit(job))
        {
            case Admission.QueueFull:
                int retry = scheduler.RetryAfterSeconds();
                http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Error(StatusCodes.Status429TooManyRequests, $"{scheduler.QueueLength} requests are waiting; try again in about {retry} s", null, "rate_limit_exceeded");
            case Admission.ShuttingDown:
                return Error(StatusCodes.Status503ServiceUnavailable, "the server is stopping and takes no new work", null, "server_shutting_down");
        }
        // As the one-shot generations answer: a client that hangs up before the last sample cancels the work.
        if (!await AudioResponse.StreamAsync(http, job, 0, encoding, GenerationEndpoints.FileName(job, 0, encoding.Extension),
                e => Error(StatusCodes.Status500InternalServerError, e.Message, "response_format", "encoder_failed")))
            scheduler.Cancel(job);
        return Results.Empty;
    }

    /// <summary>OpenAI's own fields: required ones present, values in OpenAI's ranges; the encoding to answer in.</summary>
    private static AudioEncoding Check(SpeechRequestBody body)
    {
        if (string.IsNullOrWhiteSpace(body.Model)) throw Invalid("model", "is required (any name: this server serves the one model it loaded)");
        if (body.Input is null) throw Invalid("input", "is required: describe the music");
        if (body.Speed is double speed && !(speed >= MinSpeed && speed <= MaxSpeed)) throw Invalid("speed", $"{speed} must be between {MinSpeed} and {MaxSpeed}");
        if (body.StreamFormat is { } stream && stream != "audio")
            throw Invalid("stream_format", stream == "sse"
                ? "sse is not served: the audio comes as bytes, streamed while it is generated (stream_format audio)"
                : $"'{stream}' must be audio");
        string name = body.ResponseFormat ?? "mp3";
        if (!ResponseFormats.Contains(name)) throw Invalid("response_format", $"'{name}' must be one of {string.Join(", ", ResponseFormats)}");
        var encoding = name == "pcm" ? AudioEncoding.Pcm : AudioEncoding.FromName(name)!;
        return encoding.Unavailable("response_format") is { } unavailable ? throw unavailable : encoding;
    }

    private static RequestProblem Invalid(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);

    /// <summary>A refusal in OpenAI's shape; the prompt is OpenAI's <c>input</c>, and the body or its headers name no parameter.</summary>
    private static IResult From(RequestProblem problem)
    {
        string? param = problem.Field switch { "prompt" => "input", "body" or "Content-Type" => null, var field => field };
        string code = problem.Status switch
        {
            StatusCodes.Status413PayloadTooLarge => "request_too_large",
            StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
            _ => problem.Message.Contains("is not a field", StringComparison.Ordinal) ? "unknown_parameter" : "invalid_value",
        };
        return Error(problem.Status, $"{param ?? problem.Field}: {problem.Message}", param, code);
    }

    /// <summary>An answer in OpenAI's error shape (also the API key filter's on this route).</summary>
    internal static IResult Error(int status, string message, string? param, string? code) =>
        Results.Json(new OpenAiErrorBody(new OpenAiError(message, status switch
        {
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        }, param, code)), statusCode: status);
}
