using MusicGen.Loaders.Configs;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Loaders.Checkpoints;

/// <summary>
/// Every tensor of a checkpoint folder by name: one model.safetensors, or the shards listed by
/// model.safetensors.index.json. Names are unique across shards; the index is checked against the shards.
/// </summary>
public sealed class WeightStore : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _owner;

    public string Folder { get; }
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>The type a checkpoint written by <c>musicgen quantize</c> holds (<see cref="QuantizedCheckpoint"/>); null for a plain one.</summary>
    public WeightType? QuantizedType { get; }

    /// <summary>Sees every linear layer's matrix a reader gives, by tensor name (<c>musicgen quantize</c> collects them).</summary>
    public Action<string, PackedMatrix>? OnMatrixRead { get; set; }
    public IEnumerable<string> Names => _owner.Keys;
    public long ParameterCount => _owner.Sum(kv => kv.Value.Tensors[kv.Key].ElementCount);

    private WeightStore(string folder, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> owner, WeightType? quantizedType)
    {
        Folder = folder;
        _files = files;
        _owner = owner;
        QuantizedType = quantizedType;
    }

    public static bool IsPresentIn(string folder) =>
        File.Exists(Path.Combine(folder, SingleFileName)) || File.Exists(Path.Combine(folder, IndexFileName));

    public static WeightStore Open(string folder)
    {
        string single = Path.Combine(folder, SingleFileName);
        string index = Path.Combine(folder, IndexFileName);
        if (File.Exists(index)) return OpenSharded(folder, index);
        if (File.Exists(single)) return FromFiles(folder, new List<SafetensorsFile> { SafetensorsFile.Open(single) });
        string hint = Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.bin").Any()
            ? " (PyTorch .bin weights are not supported; use the checkpoint's safetensors files)" : "";
        throw new MusicGenException($"{folder}: no {SingleFileName} or {IndexFileName}{hint}");
    }

    /// <summary>The shard file names an index lists, each once, in order.</summary>
    public static IReadOnlyList<string> ShardsListedIn(string indexPath) => DistinctShards(ReadWeightMap(indexPath)).ToList();

    private static IEnumerable<string> DistinctShards(Dictionary<string, string> shardOf) =>
        shardOf.Values.Distinct().Order(StringComparer.Ordinal);

    /// <summary>The index's weight_map: the shard file of every tensor.</summary>
    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        var shardOf = new Dictionary<string, string>(StringComparer.Ordinal);
        using var document = ConfigReader.ParseFile(indexPath);
        if (!ConfigReader.RootObject(document, indexPath).TryGetProperty("weight_map", out var map) || map.ValueKind != System.Text.Json.JsonValueKind.Object)
            throw new MusicGenException($"{indexPath}: no weight_map object");
        foreach (var entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != System.Text.Json.JsonValueKind.String)
                throw new MusicGenException($"{indexPath}: weight_map entry '{entry.Name}' is not a file name");
            string shard = entry.Value.GetString()!;
            // A shard is a file of this folder: a path elsewhere (/etc/passwd, ../x) must not be opened, let alone echoed.
            if (shard.Length == 0 || shard is "." or ".." || shard.IndexOfAny(['/', '\\', '\0', ':']) >= 0)
                throw new MusicGenException($"{indexPath} lists '{shard}' for tensor '{entry.Name}', which is not a file name in the checkpoint folder");
            shardOf[entry.Name] = shard;
        }
        return shardOf;
    }

    private static WeightStore OpenSharded(string folder, string indexPath)
    {
        var shardOf = ReadWeightMap(indexPath);
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (string shard in DistinctShards(shardOf))
            {
                string shardPath = Path.Combine(folder, shard);
                if (!File.Exists(shardPath) && !Directory.Exists(shardPath))
                    throw new MusicGenException($"{indexPath}: shard '{shard}' listed in the index does not exist");
                files.Add(SafetensorsFile.Open(shardPath));
            }
            var store = FromFiles(folder, files);
            foreach (var (name, shard) in shardOf)
            {
                if (!store._owner.TryGetValue(name, out var owner))
                    throw new MusicGenException($"{indexPath}: tensor '{name}' is listed for shard '{shard}' but is in none of the shards");
                if (Path.GetFileName(owner.Path) != shard)
                    throw new MusicGenException($"{indexPath}: tensor '{name}' is listed for shard '{shard}' but stored in '{Path.GetFileName(owner.Path)}'");
            }
            return store;
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }

    private static WeightStore FromFiles(string folder, List<SafetensorsFile> files)
    {
        var quantized = files.Select(QuantizedCheckpoint.TypeOf).Distinct().ToList();
        if (quantized.Count > 1)
            throw new MusicGenException($"{folder}: the weight files disagree on how they are quantized ({string.Join(", ", quantized.Select(t => t?.Name() ?? "not"))})");
        var owner = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (string name in file.Tensors.Keys)
            {
                if (owner.TryGetValue(name, out var other))
                    throw new MusicGenException($"tensor '{name}' is stored twice: in {other.Path} and in {file.Path}");
                owner[name] = file;
            }
        return new WeightStore(folder, files, owner, quantized.FirstOrDefault());
    }

    public bool Contains(string name) => _owner.ContainsKey(name);

    public TensorEntry Entry(string name) => FileOf(name).Tensors[name];

    public SafetensorsFile FileOf(string name) =>
        _owner.TryGetValue(name, out var file) ? file : throw Missing(name);

    public float[] ReadFloat32(string name) => FileOf(name).ReadFloat32(name);

    public MusicGenException Missing(string name, string alternatives = "") => new(_files.Count > 1
        ? $"{Folder}: tensor '{name}'{alternatives} is in none of the {_files.Count} shards"
        : $"{Folder}: tensor '{name}'{alternatives} is missing from {SingleFileName}");

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
