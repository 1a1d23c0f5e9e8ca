using System.Net;
using System.Net.Http.Headers;

namespace MusicGen.Loaders.Hub;

/// <summary>
/// The two requests the cache needs from the Hub: a revision's commit and file list, and one file of a commit.
/// Follows redirects itself so that the token goes to the Hub's own host only, never to the storage a large file is
/// redirected to; times out a server that stops answering.
/// </summary>
internal sealed class HubClient : IDisposable
{
    private const int MaxRedirects = 10;
    private const int ChunkBytes = 1 << 20;
    /// <summary>How long to wait for an answer, and then for each chunk of a file.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string? _token;
    private readonly Action<string>? _log;

    public HubClient(HubOptions options)
    {
        var handler = options.Handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = StallTimeout };
        // Timeouts are per stall (see StallTimeout), not for a whole download that may take an hour.
        _http = new HttpClient(handler, disposeHandler: options.Handler is null) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("musicgen-dotnet", "1.0"));
        if (!Uri.TryCreate(options.Endpoint.TrimEnd('/') + "/", UriKind.Absolute, out var endpoint) || !IsHttp(endpoint))
            throw new MusicGenException($"HF_ENDPOINT '{options.Endpoint}' is not an http:// or https:// address");
        _endpoint = endpoint;
        _token = options.Token;
        _log = options.Log;
    }

    public async Task<RevisionInfo> GetRevisionAsync(HubModelId id, string revision)
    {
        string subject = $"{id.RepoId}@{revision}";
        var url = new Uri(_endpoint, $"api/models/{id.RepoId}/revision/{Uri.EscapeDataString(revision)}");
        using var response = await GetAsync(url, subject);
        byte[] body;
        try
        {
            using var stall = new CancellationTokenSource(StallTimeout);
            body = await response.Content.ReadAsByteArrayAsync(stall.Token);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            throw new MusicGenException($"{subject}: the answer was cut off ({HubErrors.Cause(e)})", e);
        }
        return RevisionInfo.Parse(body, $"{subject} from {url.GetLeftPart(UriPartial.Authority)}");
    }

    /// <summary>
    /// Downloads one file of a commit to <paramref name="destination"/> through a temporary file, so that the name
    /// holds either the whole file or nothing.
    /// </summary>
    public async Task DownloadAsync(HubModelId id, string commit, string file, string destination)
    {
        string subject = $"{file} of {id.RepoId}@{commit[..7]}";
        var url = new Uri(_endpoint, $"{id.RepoId}/resolve/{commit}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");
        using var response = await GetAsync(url, subject);
        long? expected = response.Content.Headers.ContentLength;
        _log?.Invoke($"downloading {file}{(expected is { } length ? $" ({ByteSize.Format(length)})" : "")}…");
        var progress = new DownloadProgress(file, expected, _log);
        try
        {
            await AtomicFile.WriteAsync(destination, output => CopyAsync(response, output, progress));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            string cause = e is OperationCanceledException ? $"nothing for {StallTimeout.TotalSeconds:0} s" : HubErrors.Cause(e);
            string of = expected is { } total ? $" of {ByteSize.Format(total)}" : "";
            throw new MusicGenException(
                $"{subject}: the download failed after {ByteSize.Format(progress.Received)}{of} ({cause}); nothing was kept under its name, run again to retry", e);
        }
    }

    private static async Task CopyAsync(HttpResponseMessage response, Stream output, DownloadProgress progress)
    {
        long? expected = response.Content.Headers.ContentLength;
        using var input = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[ChunkBytes];
        while (true)
        {
            int read;
            using (var stall = new CancellationTokenSource(StallTimeout))
                read = await input.ReadAsync(buffer, stall.Token);
            if (read == 0) break;
            await output.WriteAsync(buffer.AsMemory(0, read));
            progress.Add(read);
        }
        // Throwing here, inside the write, keeps a short file from being renamed into place.
        if (expected is { } total && progress.Received != total)
            throw new IOException($"the server sent {progress.Received} bytes but announced {total}");
    }

    private async Task<HttpResponseMessage> GetAsync(Uri url, string subject)
    {
        var current = url;
        for (int redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (_token is not null && IsSameOrigin(current, _endpoint)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            HttpResponseMessage response;
            try
            {
                using var stall = new CancellationTokenSource(StallTimeout);
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token);
            }
            catch (HttpRequestException e)
            {
                throw HubErrors.NoAnswer(subject, current, HubErrors.Cause(e), e);
            }
            catch (OperationCanceledException e)
            {
                throw HubErrors.NoAnswer(subject, current, $"nothing for {StallTimeout.TotalSeconds:0} s", e);
            }

            if (IsRedirect(response.StatusCode) && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (redirects == MaxRedirects) throw new MusicGenException($"{subject}: more than {MaxRedirects} redirects from {url}");
                current = location.IsAbsoluteUri ? location : new Uri(current, location);
                if (!IsHttp(current)) throw new MusicGenException($"{subject}: {url.GetLeftPart(UriPartial.Authority)} redirected to {current.Scheme}:, which is not http or https");
                continue;
            }
            if (response.IsSuccessStatusCode) return response;
            using (response) throw HubErrors.FromStatus(response, subject, _token is not null);
        }
    }

    private static bool IsHttp(Uri uri) => uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp;

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found
        or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool IsSameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    public void Dispose() => _http.Dispose();
}
