namespace MusicGen.Tests.Hub;

/// <summary>A model repository the fake Hub serves: the files of a folder, under every commit its refs name.</summary>
/// <param name="Id">owner/name.</param>
/// <param name="Folder">The files every commit of the repository holds.</param>
/// <param name="Refs">Branches and tags, each to its commit; "main" among them.</param>
/// <param name="Token">When set, every request must carry it as a bearer token.</param>
public sealed record FakeRepo(string Id, string Folder, IReadOnlyDictionary<string, string> Refs, string? Token = null)
{
    public string MainCommit => Refs["main"];

    /// <summary>A repository whose main branch is a fresh commit, with more refs to fresh commits if asked.</summary>
    public static FakeRepo Create(string id, string folder, params string[] moreRefs) =>
        new(id, folder, new[] { "main" }.Concat(moreRefs).ToDictionary(name => name, _ => NewCommit()));

    public static string NewCommit() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "01234567";

    public bool HasCommit(string commit) => Refs.Values.Contains(commit);

    /// <summary>The commit a revision names: a ref, or a commit of the repository.</summary>
    public string? CommitOf(string revision) => Refs.TryGetValue(revision, out var commit) ? commit : HasCommit(revision) ? revision : null;
}
