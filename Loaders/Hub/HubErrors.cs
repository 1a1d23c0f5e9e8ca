using System.Net;

namespace MusicGen.Loaders.Hub;

/// <summary>Turns a failed request to the Hub into a message that says what failed and what to do about it.</summary>
internal static class HubErrors
{
    /// <param name="response">An answer with an error status.</param>
    /// <param name="subject">What was asked for, such as "facebook/musicgen-small@main" or "config.json of …".</param>
    /// <param name="withToken">Whether the request carried HF_TOKEN.</param>
    public static MusicGenException FromStatus(HttpResponseMessage response, string subject, bool withToken)
    {
        int code = (int)response.StatusCode;
        string status = $"HTTP {code}{(string.IsNullOrEmpty(response.ReasonPhrase) ? "" : " " + response.ReasonPhrase)}";
        // The Hub explains itself in these headers; other servers may not.
        string? errorCode = Header(response, "X-Error-Code");
        string detail = Header(response, "X-Error-Message") is { } message ? $": {message}" : "";
        string text = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when errorCode == "GatedRepo" =>
                $"{subject}: this model is gated ({status}{detail}); accept its conditions on its Hub page, then set HF_TOKEN to an access token of that account",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when withToken =>
                $"{subject}: access denied with the token in HF_TOKEN ({status}{detail}); the repository may not exist, or the token cannot read it",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                $"{subject}: access denied ({status}{detail}); the repository may be private or gated, or may not exist; check the id, or set HF_TOKEN to an access token that can read it",
            HttpStatusCode.NotFound when errorCode == "RevisionNotFound" =>
                $"{subject}: no such revision ({status}{detail}); give a branch, tag or commit hash of the repository",
            HttpStatusCode.NotFound when errorCode == "EntryNotFound" =>
                $"{subject}: no such file in this commit ({status}{detail})",
            HttpStatusCode.NotFound =>
                $"{subject}: not found ({status}{detail}); check the repository id (owner/name) and the revision",
            HttpStatusCode.TooManyRequests =>
                $"{subject}: too many requests ({status}{detail}); wait a while and try again",
            _ when code >= 500 =>
                $"{subject}: the server failed ({status}{detail}); try again later",
            _ => $"{subject}: unexpected answer ({status}{detail})",
        };
        return new MusicGenException(text);
    }

    /// <summary>The request failed before an answer: refused, dropped, or timed out.</summary>
    public static MusicGenException NoAnswer(string subject, Uri url, string cause, Exception error) => new(
        $"{subject}: no answer from {url.GetLeftPart(UriPartial.Authority)} ({cause}); check the connection, or set HF_HUB_OFFLINE=1 to use only the local cache",
        error);

    /// <summary>The innermost message: HttpClient wraps the telling one ("Connection refused", "The response ended prematurely").</summary>
    public static string Cause(Exception error) => error.InnerException is { } inner ? Cause(inner) : error.Message;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
