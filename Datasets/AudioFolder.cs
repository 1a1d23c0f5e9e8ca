using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// The audio files under a folder (recursively), found by relative path or by name without extension (a clip id
/// such as a YouTube id).
/// </summary>
public sealed class AudioFolder
{
    /// <summary>Extensions taken as audio: WAV natively, the rest through ffmpeg.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".webm",
    };

    private readonly Dictionary<string, List<string>> _byStem = new(StringComparer.Ordinal);
    private readonly HashSet<string> _relative;

    public string Root { get; }
    /// <summary>Every audio file's path relative to <see cref="Root"/>, with '/' separators, in ordinal order.</summary>
    public IReadOnlyList<string> RelativePaths { get; }

    public AudioFolder(string root)
    {
        if (!Directory.Exists(root)) throw new MusicGenException($"{root}: folder not found");
        Root = root;
        RelativePaths = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f)))
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        _relative = new HashSet<string>(RelativePaths, StringComparer.Ordinal);
        foreach (string relative in RelativePaths)
        {
            string stem = Path.GetFileNameWithoutExtension(relative);
            if (!_byStem.TryGetValue(stem, out var files)) _byStem[stem] = files = [];
            files.Add(relative);
        }
    }

    /// <summary>The file of a clip id: the relative path itself, or the one audio file named <c>ID.ext</c>.</summary>
    public string Find(string id)
    {
        // Only names found under the root: an id such as ../x.wav never reaches outside it.
        if (_relative.Contains(id)) return Path.Combine(Root, id);
        if (!_byStem.TryGetValue(id, out var files)) throw new MusicGenException($"no audio file named {id}.* under {Root}");
        if (files.Count > 1) throw new MusicGenException($"several audio files for {id}: {string.Join(", ", files)}");
        return Path.Combine(Root, files[0]);
    }
}
