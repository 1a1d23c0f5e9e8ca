using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// The clips of a dataset: a MusicCaps-style CSV manifest (<c>ytid, start_s, end_s, audioset_positive_labels,
/// aspect_list, caption, author_id, is_balanced_subset, is_audioset_eval</c>; only <c>ytid</c> is required, other
/// columns are kept as text), or every audio file of a folder with its relative path as the id.
/// </summary>
public sealed class Manifest
{
    /// <summary>A manifest with more clips than this is taken for a wrong file rather than read into memory.</summary>
    public const int MaxEntries = 10_000_000;

    /// <summary>Columns the dataset computes, which a manifest may not bring.</summary>
    private static readonly string[] ComputedColumns = ["audio_codes", "n_codebooks", "seq_length", "mot_tokens"];

    private static readonly string[] KnownColumns =
        ["ytid", "start_s", "end_s", "audioset_positive_labels", "aspect_list", "caption", "author_id", "is_balanced_subset", "is_audioset_eval"];

    public IReadOnlyList<ManifestEntry> Entries { get; }
    /// <summary>Columns beyond MusicCaps' own, kept as text columns of the dataset.</summary>
    public IReadOnlyList<string> ExtraColumns { get; }
    /// <summary>SHA-256 of the manifest's content (hex), so that shards can check they worked from the same one.</summary>
    public string Fingerprint { get; }

    private Manifest(IReadOnlyList<ManifestEntry> entries, IReadOnlyList<string> extraColumns, string fingerprint)
    {
        Entries = entries;
        ExtraColumns = extraColumns;
        Fingerprint = fingerprint;
    }

    public static Manifest Read(string path)
    {
        if (!File.Exists(path)) throw new MusicGenException($"{path}: file not found");
        byte[] bytes = File.ReadAllBytes(path);
        using var text = new StreamReader(new MemoryStream(bytes), new UTF8Encoding(false, throwOnInvalidBytes: true));
        try
        {
            return Parse(text, path, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        catch (DecoderFallbackException)
        {
            throw new MusicGenException($"{path}: not UTF-8 text");
        }
    }

    /// <summary>Every audio file under <paramref name="folder"/>, in ordinal order of the relative path, which is the id.</summary>
    public static Manifest FromFolder(AudioFolder folder)
    {
        var entries = folder.RelativePaths
            .Select(id => new ManifestEntry(id, null, null, null, null, null, null, null, null, []))
            .ToArray();
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', folder.RelativePaths))));
        return new Manifest(entries, [], fingerprint);
    }

    private static Manifest Parse(TextReader text, string name, string fingerprint)
    {
        var csv = new CsvReader(text, name);
        var header = csv.ReadRecord() ?? throw new MusicGenException($"{name}: empty manifest (expected a header line with a ytid column)");
        var column = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < header.Length; i++)
        {
            string title = header[i].Trim();
            if (title.Length == 0) throw new MusicGenException($"{name}:1: column {i + 1} has no name");
            if (!column.TryAdd(title, i)) throw new MusicGenException($"{name}:1: column {title} appears twice");
            if (ComputedColumns.Contains(title)) throw new MusicGenException($"{name}:1: column {title} is one the dataset computes; rename it");
        }
        if (!column.ContainsKey("ytid")) throw new MusicGenException($"{name}:1: no ytid column (columns: {string.Join(", ", column.Keys)})");
        var extras = header.Select(h => h.Trim()).Where(h => !KnownColumns.Contains(h)).ToArray();
        var extraIndexes = extras.Select(e => column[e]).ToArray();

        var entries = new List<ManifestEntry>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (csv.ReadRecord() is { } record)
        {
            int line = csv.RecordLine;
            if (record.Length != header.Length)
                throw new MusicGenException($"{name}:{line}: {record.Length} fields, the header has {header.Length}");
            if (entries.Count == MaxEntries) throw new MusicGenException($"{name}: more than {MaxEntries} clips");
            var row = new Row(record, column, name, line);
            string id = row.Text("ytid") ?? throw new MusicGenException($"{name}:{line}: empty ytid");
            if (!ids.Add(id)) throw new MusicGenException($"{name}:{line}: ytid {id} appears twice");
            entries.Add(new ManifestEntry(
                id, row.Number("start_s"), row.Number("end_s"), row.Text("caption"), row.List("aspect_list"),
                row.Text("audioset_positive_labels"), row.Integer("author_id"), row.Boolean("is_balanced_subset"),
                row.Boolean("is_audioset_eval"), extraIndexes.Select(i => NullIfEmpty(record[i])).ToArray()));
        }
        return new Manifest(entries, extras, fingerprint);
    }

    private static string? NullIfEmpty(string field) => field.Length == 0 ? null : field;

    /// <summary>Typed access to the optional columns of one record; an absent column or empty field is null.</summary>
    private readonly record struct Row(string[] Fields, Dictionary<string, int> Column, string Name, int Line)
    {
        public string? Text(string column) => Column.TryGetValue(column, out int i) ? NullIfEmpty(Fields[i].Trim()) : null;

        public double? Number(string column) => Text(column) is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value)
                ? value
                : throw Error(column, text, "a number")
            : null;

        public long? Integer(string column) => Text(column) is { } text
            ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : throw Error(column, text, "an integer")
            : null;

        public bool? Boolean(string column) => Text(column)?.ToLowerInvariant() switch
        {
            null => null,
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw Error(column, Text(column)!, "True or False"),
        };

        public string[]? List(string column)
        {
            if (Text(column) is not { } text) return null;
            try
            {
                return PythonListLiteral.Parse(text);
            }
            catch (MusicGenException e)
            {
                throw new MusicGenException($"{Name}:{Line}: {column}: {e.Message}");
            }
        }

        private MusicGenException Error(string column, string text, string expected) =>
            new($"{Name}:{Line}: {column} is {(text.Length > 40 ? text[..37] + "..." : text)}, expected {expected}");
    }
}
