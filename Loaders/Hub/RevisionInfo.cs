using System.Text.Json;

namespace MusicGen.Loaders.Hub;

/// <summary>What <c>GET /api/models/{repo}/revision/{revision}</c> says: the commit and the files it holds.</summary>
internal sealed record RevisionInfo(string Commit, IReadOnlySet<string> Files)
{
    /// <param name="json">The answer's body.</param>
    /// <param name="source">Names the request in error messages.</param>
    public static RevisionInfo Parse(byte[] json, string source)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new MusicGenException($"{source}: the answer is not UTF-8 text; is the endpoint a Hugging Face Hub?");
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new MusicGenException($"{source}: the answer is not a JSON object");
            string? commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString() : null;
            // The commit becomes a folder name: only a real commit hash is accepted.
            if (commit is null || !HubModelId.IsCommitHash(commit))
                throw new MusicGenException($"{source}: the answer has no commit hash (\"sha\")");
            if (!root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw new MusicGenException($"{source}: the answer has no file list (\"siblings\")");
            var files = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sibling in siblings.EnumerateArray())
                if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out var name) && name.ValueKind == JsonValueKind.String)
                    files.Add(name.GetString()!);
            return new RevisionInfo(commit, files);
        }
        catch (JsonException e)
        {
            throw new MusicGenException($"{source}: the answer is not JSON ({e.Message}); is the endpoint a Hugging Face Hub?", e);
        }
    }
}
