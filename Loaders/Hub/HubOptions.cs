namespace MusicGen.Loaders.Hub;

/// <summary>
/// Where the Hugging Face Hub and its local cache are, and how to reach the Hub.
/// </summary>
/// <param name="Endpoint">The Hub's base address, such as https://huggingface.co.</param>
/// <param name="CacheDirectory">The cache shared with Python's huggingface_hub (the folder holding models--owner--name).</param>
/// <param name="Token">An access token for private or gated repositories.</param>
/// <param name="Offline">Use only the cache; never touch the network.</param>
/// <param name="Log">Receives progress lines while downloading.</param>
/// <param name="Handler">The HTTP handler to send requests through (default: a direct connection).</param>
public sealed record HubOptions(string Endpoint, string CacheDirectory, string? Token, bool Offline,
    Action<string>? Log = null, HttpMessageHandler? Handler = null)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>
    /// The settings huggingface_hub reads: HF_ENDPOINT; HF_HUB_CACHE, else HF_HOME/hub, else
    /// $XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub; HF_TOKEN; HF_HUB_OFFLINE (1, true, yes or on).
    /// </summary>
    public static HubOptions FromEnvironment(Action<string>? log = null) => new(
        Endpoint: Variable("HF_ENDPOINT")?.TrimEnd('/') ?? DefaultEndpoint,
        CacheDirectory: CacheDirectoryFromEnvironment(),
        Token: Variable("HF_TOKEN"),
        Offline: Variable("HF_HUB_OFFLINE")?.ToUpperInvariant() is "1" or "TRUE" or "YES" or "ON",
        Log: log);

    private static string CacheDirectoryFromEnvironment()
    {
        if (Variable("HF_HUB_CACHE") is { } cache) return ExpandHome(cache);
        string home = Variable("HF_HOME") is { } hfHome ? ExpandHome(hfHome)
            : Path.Combine(Variable("XDG_CACHE_HOME") is { } xdg ? ExpandHome(xdg) : Path.Combine(UserHome, ".cache"), "huggingface");
        return Path.Combine(home, "hub");
    }

    private static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Python expands a leading ~ in these variables; so do we, for the same paths.</summary>
    private static string ExpandHome(string path) =>
        path == "~" ? UserHome
        : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal) ? Path.Combine(UserHome, path[2..])
        : path;

    /// <summary>A variable's value; an empty one counts as unset.</summary>
    private static string? Variable(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
