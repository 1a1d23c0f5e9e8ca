using System.Text.Json.Nodes;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Tests.Support;

/// <summary>
/// An adapter folder a test writes: a copy of a golden case's PEFT adapter (adapter_config.json and the float32
/// tensors of adapter_model.safetensors) that the test changes before <see cref="Save"/>.
/// </summary>
public sealed class AdapterFiles
{
    /// <summary>The golden adapter on musicgen-prompt's checkpoint: linear and embedding LoRA layers, one module saved whole.</summary>
    public static string Lora => Path.Combine(TestPaths.Golden("musicgen-lora"), "adapter");
    /// <summary>The golden rsLoRA adapter on musicgen-mono's checkpoint, with rank and alpha patterns.</summary>
    public static string Rslora => Path.Combine(TestPaths.Golden("musicgen-rslora"), "adapter");
    public static string PromptModel => Path.Combine(TestPaths.Golden("musicgen-prompt"), "model");
    public static string MonoModel => Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    public string Folder { get; }
    public JsonObject Config { get; }
    public Dictionary<string, (int[] Shape, float[] Values)> Tensors { get; }

    private AdapterFiles(string folder, JsonObject config, Dictionary<string, (int[], float[])> tensors)
    {
        Folder = folder;
        Config = config;
        Tensors = tensors;
    }

    public static AdapterFiles CopyOf(string source, string folder)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, LoraConfig.FileName)))!.AsObject();
        using var file = SafetensorsFile.Open(Path.Combine(source, LoraAdapter.WeightsFileName));
        var tensors = file.Tensors.ToDictionary(t => t.Key, t => (t.Value.Shape, file.ReadFloat32(t.Key)));
        return new AdapterFiles(folder, config, tensors);
    }

    /// <summary>The name of the one tensor whose name ends with <paramref name="suffix"/>.</summary>
    public string Named(string suffix) => Tensors.Keys.Single(name => name.EndsWith(suffix, StringComparison.Ordinal));

    public AdapterFiles Save()
    {
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, LoraConfig.FileName), Config.ToJsonString());
        var writer = new SafetensorsWriter().AddMetadata("format", "pt");
        foreach (var (name, (shape, values)) in Tensors) writer.Add(name, shape, values);
        writer.Save(Path.Combine(Folder, LoraAdapter.WeightsFileName));
        return this;
    }
}
