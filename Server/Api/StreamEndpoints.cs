using MusicGen.Server.Generation;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>
/// The <c>/v1/streams</c> API, a radio: start a stream without end, play it to any number of listeners, change its
/// text from the next window on, see how it goes, stop it.
/// </summary>
public static class StreamEndpoints
{
    /// <summary>Adds the routes to the <c>/v1</c> group.</summary>
    public static void Map(RouteGroupBuilder v1)
    {
        var streams = v1.MapGroup("/streams").WithTags("streams");
        streams.MapPost("", StartAsync)
            .WithName("CreateStream")
            .WithSummary("Start a stream without end")
            .WithDescription("JSON: prompt and the sampling settings and extend_stride of a generation, no duration. Answers 201 with the id and URLs. "
                + "The stream holds the generator from its start until it is stopped; one-shot generations wait behind it.")
            .Accepts<StreamRequestBody>("application/json")
            .Produces<StreamStatusView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesValidationProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        streams.MapGet("/{id}", (string id, RadioStreams all) => all.Find(id) is { } stream ? Results.Ok(StreamStatusView.Of(stream)) : NotFound(id))
            .WithName("GetStream").WithSummary("A stream's status: its text now, windows and seconds played, listeners")
            .Produces<StreamStatusView>().ProducesProblem(StatusCodes.Status404NotFound);
        streams.MapGet("/{id}/audio", AudioAsync)
            .WithName("GetStreamAudio")
            .WithSummary("Plays the stream from the next chunk on: format wav (pcm16, the default, or float32; a WAV of unknown length) or opus")
            .Produces(StatusCodes.Status200OK, contentType: "audio/wav")
            .Produces(StatusCodes.Status200OK, contentType: "audio/ogg")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
        streams.MapPut("/{id}/prompt", ChangePromptAsync)
            .WithName("ChangeStreamPrompt")
            .WithSummary("Changes the stream's text from its next window on")
            .Accepts<StreamPromptBody>("application/json")
            .Produces<StreamStatusView>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
        streams.MapDelete("/{id}", (string id, RadioStreams all) =>
            {
                if (all.Find(id) is not { } stream) return NotFound(id);
                all.Delete(stream);
                return Results.NoContent();
            })
            .WithName("DeleteStream")
            .WithSummary("Stops a stream (its listeners' audio ends) and forgets it")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> StartAsync(HttpContext http, RequestReader reader, RadioStreams streams, GenerationScheduler scheduler,
        IMusicGenerator generator, ServerOptions options)
    {
        if (scheduler.IsStopping) return GenerationEndpoints.Stopping();
        GenerationParameters parameters;
        try
        {
            parameters = await reader.ReadStreamAsync(http.Request, http.RequestAborted);
        }
        catch (RequestProblem problem)
        {
            if (problem.Status == StatusCodes.Status413PayloadTooLarge) http.Response.Headers.Connection = "close";
            return problem.ToResult();
        }
        var (admission, stream) = streams.Start(parameters, generator.Model);
        if (admission == Admission.TooManyStreams)
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many streams",
                detail: $"this server plays at most {options.MaxStreams} stream(s) at a time (--max-streams); stop one with DELETE /v1/streams/{{id}}");
        if (GenerationEndpoints.Refusal(http, scheduler, admission) is { } refused) return refused;
        return Results.Created(StreamUrls.For(stream!.Id).Self, StreamStatusView.Of(stream));
    }

    private static async Task<IResult> AudioAsync(HttpContext http, string id, RadioStreams streams, string? format)
    {
        if (streams.Find(id) is not { } stream) return NotFound(id);
        if (AudioEncoding.FromName(format) is not { PlaysEndless: true } encoding)
            return new RequestProblem(StatusCodes.Status400BadRequest, "format", $"a stream plays as {AudioEncoding.StreamNames}").ToResult();
        if (stream.Job.IsFinished) return Stopped(stream);
        await AudioResponse.ListenAsync(http, stream.Audio, encoding, $"musicgen-stream-{stream.Id[..8]}{encoding.Extension}");
        return Results.Empty;
    }

    private static async Task<IResult> ChangePromptAsync(HttpContext http, string id, RadioStreams streams, RequestReader reader)
    {
        if (streams.Find(id) is not { } stream) return NotFound(id);
        try
        {
            var body = await RequestReader.ReadJsonBodyAsync<StreamPromptBody>(http.Request, http.RequestAborted);
            reader.CheckStreamText(stream.Job.Parameters.Request, body.Text);
            if (stream.Job.IsFinished) return Stopped(stream);
            stream.Prompt.Change(body.Text!);
        }
        catch (RequestProblem problem)
        {
            return problem.ToResult();
        }
        return Results.Ok(StreamStatusView.Of(stream));
    }

    private static IResult NotFound(string id) => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such stream",
        detail: $"no stream has the id '{id}' (deleted ones are forgotten at once, stopped ones after a while)");

    private static IResult Stopped(RadioStream stream) => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The stream has stopped",
        detail: $"the stream {stream.Job.Status.ToString().ToLowerInvariant()}{(StreamStatusView.Of(stream).Error is { } why ? $" ({why})" : "")}; start another");
}
