using System.Security.Cryptography;
using System.Text;

namespace MusicGen.Server.Api;

/// <summary>
/// Lets a <c>/v1</c> request through only with the server's key: <c>Authorization: Bearer KEY</c>,
/// <c>X-Api-Key: KEY</c>, or <c>?api_key=KEY</c> (for what a browser fetches by itself: the audio element and
/// server-sent events cannot set headers). A refusal is a 401 problem, or what <paramref name="refuse"/> makes of
/// its message (the OpenAI-style route's error shape).
/// </summary>
public sealed class ApiKeyFilter(string key, Func<string, IResult>? refuse = null) : IEndpointFilter
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(key);

    /// <inheritdoc />
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        string? given = request.Headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : request.Headers["X-Api-Key"].FirstOrDefault() ?? request.Query["api_key"].FirstOrDefault();
        if (given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _key)) return next(context);
        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        string message = given is null ? "this server needs its API key: send Authorization: Bearer KEY (or X-Api-Key: KEY)" : "the API key is wrong";
        return ValueTask.FromResult<object?>(refuse?.Invoke(message)
            ?? Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required", detail: message));
    }
}
