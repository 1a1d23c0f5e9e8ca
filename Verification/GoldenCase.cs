using System.Text.Json;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Verification;

/// <summary>
/// A golden reference case (golden/FORMAT.md): case.json with the settings and the list of tensors, the
/// reference outputs in expected.safetensors, and the checkpoint in model/.
/// </summary>
public sealed class GoldenCase : IDisposable
{
    private readonly JsonDocument _document;

    public string Folder { get; }
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Folder));
    /// <summary>model/, or the checkpoint of another case that case.json names in "model" (a path relative to the case).</summary>
    public string ModelFolder =>
        Settings.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String
            ? Path.GetFullPath(Path.Combine(Folder, model.GetString()!))
            : Path.Combine(Folder, "model");
    /// <summary>
    /// The adapters case.json's "adapters" merges into the checkpoint (<c>[{"path": "adapter", "scale": 1.0}]</c>,
    /// paths relative to the case), in order; none for most cases.
    /// </summary>
    public IReadOnlyList<AdapterReference> Adapters { get; }
    public string Kind { get; }
    public SafetensorsFile Expected { get; }
    public IReadOnlyList<string> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }
    public JsonElement Settings => _document.RootElement;

    /// <summary>
    /// Whether model/ holds a checkpoint. The signal-processing kinds (resample, chroma) have none: their model/
    /// holds at most a feature extractor's preprocessor_config.json.
    /// </summary>
    public bool HasCheckpoint => Kind is not ("resample" or "chroma");

    /// <summary>Prefix of the codec's tensors: none in a standalone codec case, audio_encoder. in a MusicGen case.</summary>
    public string CodecPrefix => Kind == "encodec" ? "" : "audio_encoder.";

    private GoldenCase(string folder, JsonDocument document, SafetensorsFile expected)
    {
        Folder = folder;
        _document = document;
        Expected = expected;
        var root = document.RootElement;
        Kind = root.TryGetProperty("kind", out var kind) ? kind.GetString() ?? "" : "";
        Inputs = Strings(root, "inputs");
        Outputs = Strings(root, "outputs");
        Adapters = ReadAdapters(root, folder);
    }

    private static List<AdapterReference> ReadAdapters(JsonElement root, string folder)
    {
        if (!root.TryGetProperty("adapters", out var list)) return [];
        if (list.ValueKind != JsonValueKind.Array) throw new MusicGenException($"{folder}: case.json's adapters is not a list");
        return list.EnumerateArray().Select(adapter =>
            adapter.ValueKind == JsonValueKind.Object && adapter.TryGetProperty("path", out var path) && path.ValueKind == JsonValueKind.String
                ? new AdapterReference(Path.GetFullPath(Path.Combine(folder, path.GetString()!)),
                    adapter.TryGetProperty("scale", out var scale) && scale.ValueKind == JsonValueKind.Number ? scale.GetDouble() : 1)
                : throw new MusicGenException($"{folder}: an entry of case.json's adapters has no path")).ToList();
    }

    public static GoldenCase Open(string folder)
    {
        string casePath = Path.Combine(folder, "case.json");
        if (!Directory.Exists(folder)) throw new MusicGenException($"{folder}: folder not found");
        if (!File.Exists(casePath)) throw new MusicGenException($"{folder}: no case.json; not a golden case folder");
        var document = Loaders.Configs.ConfigReader.ParseFile(casePath);
        try
        {
            string expectedPath = Path.Combine(folder, "expected.safetensors");
            return new GoldenCase(folder, document, SafetensorsFile.Open(expectedPath));
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    private static string[] Strings(JsonElement root, string name) =>
        root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
            : Array.Empty<string>();

    public bool Has(string name) => Expected.Contains(name);
    public int[] Shape(string name) => Expected.Entry(name).Shape;
    public float[] Float(string name) => Expected.ReadFloat32(name);
    public long[] Int(string name) => Expected.ReadInt64(name);

    /// <summary>
    /// An integer tensor whose values must lie in [<paramref name="min"/>, <paramref name="max"/>]: ids, codes and
    /// lengths; a value outside (a corrupt file's) is an error naming the tensor, never an overflow or a bad index.
    /// </summary>
    public int[] Int32(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        long[] values = Int(name);
        int bad = Array.FindIndex(values, v => v < min || v > max);
        if (bad >= 0)
            throw new MusicGenException($"{Expected.Path}: tensor '{name}' holds {values[bad]} at element {bad}, outside [{min}, {max}]; the file is corrupt");
        return Array.ConvertAll(values, v => (int)v);
    }

    public double Number(string name, double fallback) =>
        Settings.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;

    public bool Flag(string name) => Settings.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public string[] StringList(string name) => Strings(Settings, name);

    public void Dispose()
    {
        Expected.Dispose();
        _document.Dispose();
    }
}
