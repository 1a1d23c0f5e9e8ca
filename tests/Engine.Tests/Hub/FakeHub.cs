using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MusicGen.Tests.Hub;

/// <summary>How the fake Hub misbehaves when one file is asked for.</summary>
public enum Fault
{
    /// <summary>Closes the connection without answering.</summary>
    Drop,
    /// <summary>Announces the whole length, sends half of it, then closes the connection.</summary>
    CutShort,
    /// <summary>Answers 503 Service Unavailable.</summary>
    ServerError,
}

/// <summary>
/// A Hugging Face Hub on 127.0.0.1 serving the two routes the cache needs: <c>/api/models/{repo}/revision/{revision}</c>
/// and <c>/{repo}/resolve/{commit}/{file}</c>, answering errors with the Hub's X-Error-Code header. Files named in
/// <see cref="Redirected"/> are redirected to a storage route first, as the Hub redirects large files to its CDN.
/// A minimal HTTP/1.1 server on a TcpListener, one request per connection: HttpListener cannot drop a connection
/// without answering, and the faults need exactly that.
/// </summary>
public sealed class FakeHub : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, FakeRepo> _repos = new(StringComparer.Ordinal);
    private readonly Task _serving;

    public string Endpoint { get; }
    /// <summary>The path of every request received, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();
    public ConcurrentDictionary<string, Fault> Faults { get; } = new(StringComparer.Ordinal);
    public ConcurrentBag<string> Redirected { get; } = ["model.safetensors"];

    public FakeHub(params FakeRepo[] repos)
    {
        foreach (var repo in repos) _repos[repo.Id] = repo;
        _listener.Start();
        Endpoint = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>The requests for files, leaving out those for revisions.</summary>
    public IEnumerable<string> FileRequests => Requests.Where(path => !path.StartsWith("/api/", StringComparison.Ordinal));

    /// <summary>Stops answering: from now on connections are refused.</summary>
    public void Stop()
    {
        _listener.Stop();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }

    public void Dispose() => Stop();

    private async Task ServeAsync()
    {
        while (true)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Answer(client));
        }
    }

    private void Answer(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (path, headers) = ReadRequest(stream);
                Requests.Enqueue(path);
                Route(new Exchange(stream, headers), path);
            }
            catch (IOException)
            {
                // The client went away; nothing to answer.
            }
        }
    }

    /// <summary>The request line's path and the headers; a GET has no body to read.</summary>
    private static (string Path, Dictionary<string, string> Headers) ReadRequest(Stream stream)
    {
        var reader = new StreamReader(stream, Encoding.ASCII, false, 1, leaveOpen: true);
        string[] requestLine = (reader.ReadLine() ?? throw new IOException("no request")).Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (string? line = reader.ReadLine(); !string.IsNullOrEmpty(line); line = reader.ReadLine())
        {
            int colon = line.IndexOf(':');
            if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return (new Uri(new Uri("http://hub"), requestLine[1]).AbsolutePath, headers);
    }

    private void Route(Exchange exchange, string path)
    {
        string[] parts = path.TrimStart('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        if (parts is ["api", "models", var owner, var name, "revision", var revision])
            AnswerRevision(exchange, $"{owner}/{name}", revision);
        else if (parts is [var fileOwner, var fileName, "resolve", var commit, var file])
            AnswerFile(exchange, $"{fileOwner}/{fileName}", commit, file, redirectable: true);
        else if (parts is ["storage", var storedOwner, var storedName, var storedCommit, var storedFile])
            AnswerFile(exchange, $"{storedOwner}/{storedName}", storedCommit, storedFile, redirectable: false);
        else
            exchange.Error(404, "NotFound", "no such route");
    }

    private void AnswerRevision(Exchange exchange, string repoId, string revision)
    {
        if (!Authorized(exchange, repoId, out var repo)) return;
        if (repo.CommitOf(revision) is not { } commit)
        {
            exchange.Error(404, "RevisionNotFound", $"Invalid rev id: {revision}");
            return;
        }
        var siblings = Directory.GetFiles(repo.Folder).Select(file => new { rfilename = Path.GetFileName(file) });
        exchange.Send(200, JsonSerializer.SerializeToUtf8Bytes(new { id = repoId, sha = commit, siblings }));
    }

    private void AnswerFile(Exchange exchange, string repoId, string commit, string file, bool redirectable)
    {
        if (!Authorized(exchange, repoId, out var repo)) return;
        string path = Path.Combine(repo.Folder, file);
        if (!repo.HasCommit(commit) || !File.Exists(path))
        {
            exchange.Error(404, "EntryNotFound", $"{file} does not exist on \"{commit}\"");
            return;
        }
        if (redirectable && Redirected.Contains(file))
        {
            exchange.Send(302, [], ("Location", $"/storage/{repoId}/{commit}/{file}"));
            return;
        }
        byte[] bytes = File.ReadAllBytes(path);
        switch (Faults.TryGetValue(file, out var fault) ? fault : (Fault?)null)
        {
            case Fault.Drop:
                return; // closing the connection is the whole answer
            case Fault.CutShort:
                exchange.Send(200, bytes.AsSpan(0, bytes.Length / 2), announcedLength: bytes.Length);
                return;
            case Fault.ServerError:
                exchange.Error(503, null, "try later");
                return;
            default:
                exchange.Send(200, bytes);
                return;
        }
    }

    private bool Authorized(Exchange exchange, string repoId, out FakeRepo repo)
    {
        if (!_repos.TryGetValue(repoId, out repo!))
        {
            exchange.Error(404, "RepoNotFound", "Repository not found");
            return false;
        }
        if (repo.Token is null || exchange.Headers.GetValueOrDefault("Authorization") == $"Bearer {repo.Token}") return true;
        exchange.Error(401, null, "Invalid username or password.");
        return false;
    }

    /// <summary>One request's connection: its headers, and the answer written to it.</summary>
    private sealed record Exchange(Stream Stream, Dictionary<string, string> Headers)
    {
        public void Send(int status, ReadOnlySpan<byte> body, params (string Name, string Value)[] headers) =>
            Send(status, body, body.Length, headers);

        public void Send(int status, ReadOnlySpan<byte> body, long announcedLength, params (string Name, string Value)[] headers)
        {
            var head = new StringBuilder($"HTTP/1.1 {status} {Reason(status)}\r\n");
            foreach (var (name, value) in headers) head.Append($"{name}: {value}\r\n");
            head.Append($"Content-Length: {announcedLength}\r\nConnection: close\r\n\r\n");
            Stream.Write(Encoding.ASCII.GetBytes(head.ToString()));
            Stream.Write(body);
            Stream.Flush();
        }

        public void Error(int status, string? errorCode, string message)
        {
            var headers = new List<(string, string)> { ("X-Error-Message", message) };
            if (errorCode is not null) headers.Add(("X-Error-Code", errorCode));
            Send(status, Encoding.UTF8.GetBytes(message), headers.ToArray());
        }

        private static string Reason(int status) => status switch
        {
            200 => "OK", 302 => "Found", 401 => "Unauthorized", 404 => "Not Found", 503 => "Service Unavailable", _ => "Status",
        };
    }
}
