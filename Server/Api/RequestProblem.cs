namespace MusicGen.Server.Api;

/// <summary>A request the server refuses: the HTTP status, the field at fault, and why in plain words.</summary>
public sealed class RequestProblem(int status, string field, string message) : Exception(message)
{
    /// <summary>400, 413 or 415.</summary>
    public int Status { get; } = status;

    /// <summary>The request field (JSON property or form field) at fault, or "body".</summary>
    public string Field { get; } = field;

    /// <summary>An RFC 7807 answer naming the field: <c>errors: { field: [message] }</c>.</summary>
    public IResult ToResult() => Results.ValidationProblem(
        new Dictionary<string, string[]> { [Field] = [Message] },
        detail: $"{Field}: {Message}",
        statusCode: Status,
        title: Status switch
        {
            StatusCodes.Status413PayloadTooLarge => "The request is too large",
            StatusCodes.Status415UnsupportedMediaType => "The request's format is not supported",
            _ => "The request is not valid",
        });
}
