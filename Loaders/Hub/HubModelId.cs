using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace MusicGen.Loaders.Hub;

/// <summary>A model repository on the Hugging Face Hub and a revision of it: <c>owner/name</c> or <c>owner/name@revision</c>.</summary>
public sealed partial record HubModelId(string Owner, string Name, string Revision)
{
    public const string DefaultRevision = "main";

    /// <summary>The longest repository id the Hub accepts.</summary>
    private const int MaxRepoIdLength = 96;

    public string RepoId => $"{Owner}/{Name}";

    /// <summary>A full commit hash names its snapshot directly, without a ref.</summary>
    public bool RevisionIsCommit => IsCommitHash(Revision);

    public override string ToString() => $"{RepoId}@{Revision}";

    /// <summary>
    /// Parses <c>owner/name[@revision]</c> with the Hub's rules for names (letters, digits, '_', '-', '.', starting and
    /// ending with a letter, digit or '_', no "--" or ".."), so that the id never escapes its cache folder.
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out HubModelId? id)
    {
        id = null;
        int at = text.IndexOf('@');
        string repo = at < 0 ? text : text[..at];
        string revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        string[] parts = repo.Split('/');
        if (parts.Length != 2 || repo.Length > MaxRepoIdLength || !parts.All(IsValidName) || !IsValidRevision(revision))
            return false;
        id = new HubModelId(parts[0], parts[1], revision);
        return true;
    }

    internal static bool IsCommitHash(string text) => CommitHashPattern().IsMatch(text);

    private static bool IsValidName(string name) =>
        NamePattern().IsMatch(name) && !name.Contains("--", StringComparison.Ordinal) && !name.Contains("..", StringComparison.Ordinal);

    /// <summary>A branch, tag or commit; it becomes a path under refs/, so no "..", backslashes or empty segments.</summary>
    private static bool IsValidRevision(string revision) =>
        revision.Length > 0 && !revision.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '\\' or '@' or ':')
        && revision.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..");

    [GeneratedRegex("^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHashPattern();
}
