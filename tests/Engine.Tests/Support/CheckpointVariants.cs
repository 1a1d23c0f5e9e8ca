using MusicGen.Loaders.Safetensors;

namespace MusicGen.Tests.Support;

/// <summary>
/// Copies of a checkpoint folder stored differently (sharded, float16, parametrized weight norm), to show the
/// loader reads every way the Hub publishes the same weights.
/// </summary>
public static class CheckpointVariants
{
    public enum Storage { Float32, Float16, BFloat16 }

    /// <summary>Copies every file of a model folder, rewriting model.safetensors as asked.</summary>
    public static void Write(string sourceFolder, string targetFolder, int shards = 1, Storage storage = Storage.Float32,
        bool parametrizedWeightNorm = false)
    {
        Directory.CreateDirectory(targetFolder);
        foreach (string file in Directory.GetFiles(sourceFolder).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(targetFolder, Path.GetFileName(file)));

        using var source = SafetensorsFile.Open(Path.Combine(sourceFolder, "model.safetensors"));
        var names = source.Tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int shard = 0; shard < shards; shard++)
        {
            string fileName = shards == 1 ? "model.safetensors" : $"model-{shard + 1:00000}-of-{shards:00000}.safetensors";
            var writer = new SafetensorsWriter().AddMetadata("format", "pt");
            for (int i = shard; i < names.Length; i += shards)
            {
                var entry = source.Entry(names[i]);
                string name = parametrizedWeightNorm ? ParametrizedName(names[i]) : names[i];
                if (!SafetensorsDTypes.IsFloat(entry.DType)) writer.Add(name, entry.DType, entry.Shape, source.Bytes(entry));
                else if (storage == Storage.Float16) writer.AddFloat16(name, entry.Shape, source.ReadFloat32(names[i]));
                else if (storage == Storage.BFloat16) writer.AddBFloat16(name, entry.Shape, source.ReadFloat32(names[i]));
                else writer.Add(name, entry.Shape, source.ReadFloat32(names[i]));
                weightMap[name] = fileName;
            }
            writer.Save(Path.Combine(targetFolder, fileName));
        }
        if (shards > 1)
            File.WriteAllText(Path.Combine(targetFolder, "model.safetensors.index.json"),
                System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));
    }

    private static string ParametrizedName(string name) =>
        name.EndsWith(".weight_g", StringComparison.Ordinal) ? name[..^".weight_g".Length] + ".parametrizations.weight.original0"
        : name.EndsWith(".weight_v", StringComparison.Ordinal) ? name[..^".weight_v".Length] + ".parametrizations.weight.original1"
        : name;
}
