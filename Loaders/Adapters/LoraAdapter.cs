using MusicGen.Loaders.Hub;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Loaders.Adapters;

/// <summary>How a LoRA layer's delta is laid out: PEFT's lora.Linear or lora.Embedding.</summary>
public enum LoraLayerKind
{
    /// <summary>lora_A.weight [r, in], lora_B.weight [out, r]: the delta B·A is [out, in] like the weight.</summary>
    Linear,
    /// <summary>lora_embedding_A [r, num_embeddings], lora_embedding_B [embedding_dim, r]: the delta is (B·A)ᵀ.</summary>
    Embedding,
}

/// <summary>
/// One adapted module: the names of its two factors in the adapter file, their rank, and the factor their product is
/// scaled by (PEFT's scaling times the adapter's scale). <see cref="Weight"/> is the checkpoint tensor it changes.
/// </summary>
public sealed record LoraLayer(string Module, LoraLayerKind Kind, string A, string B, int Rank, double Scaling)
{
    public string Weight => Module + ".weight";
}

/// <summary>
/// A PEFT LoRA adapter as PEFT saves it for a transformers model (peft/utils/save_and_load.py,
/// <c>get_peft_model_state_dict</c>): adapter_config.json, and adapter_model.safetensors holding, under the
/// PeftModel's <c>base_model.model.</c> prefix with the adapter's name removed, <c>MODULE.lora_A.weight</c> and
/// <c>MODULE.lora_B.weight</c> for a linear layer, <c>MODULE.lora_embedding_A</c> and <c>MODULE.lora_embedding_B</c>
/// for an embedding, and whole tensors under the model's own names for what it saves outright (the modules of
/// <c>modules_to_save</c>, biases with <c>bias</c> all or lora_only, saved embedding layers), which replace the
/// model's. A wrapped layer's own tensors are saved as <c>MODULE.base_layer.NAME</c>: they stand for <c>MODULE.NAME</c>.
/// transformers' own PEFT integration saves the same names without the prefix, which are read alike.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    public const string WeightsFileName = "adapter_model.safetensors";
    private const string Prefix = "base_model.model.";

    public AdapterReference Reference { get; }
    public string Folder { get; }
    public LoraConfig Config { get; }
    public IReadOnlyList<LoraLayer> Layers { get; }
    /// <summary>Whole tensors: the adapter file's name and the checkpoint tensor it replaces.</summary>
    public IReadOnlyList<(string Tensor, string Target)> Replacements { get; }
    public SafetensorsFile Weights { get; }

    private LoraAdapter(AdapterReference reference, string folder, LoraConfig config, SafetensorsFile weights,
        IReadOnlyList<LoraLayer> layers, IReadOnlyList<(string, string)> replacements)
    {
        Reference = reference;
        Folder = folder;
        Config = config;
        Weights = weights;
        Layers = layers;
        Replacements = replacements;
    }

    /// <summary>
    /// Finds the adapter (a folder, or a Hub id looked up in or downloaded into the Hugging Face cache), reads its
    /// config and the names and shapes of its tensors, and checks that they form LoRA layers.
    /// </summary>
    /// <exception cref="AdapterException">The adapter cannot be found, read, or merged as plain LoRA.</exception>
    public static LoraAdapter Open(AdapterReference reference, HubOptions hub) => MusicGenException.Refine(() =>
    {
        string folder = ModelLocator.ResolveAdapter(reference.Location, hub);
        string configPath = Path.Combine(folder, LoraConfig.FileName), weightsPath = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(configPath)) throw new AdapterException($"{folder}: no {LoraConfig.FileName}; this is not a PEFT adapter folder");
        if (!File.Exists(weightsPath))
            throw new AdapterException(File.Exists(Path.Combine(folder, "adapter_model.bin"))
                ? $"{folder}: only adapter_model.bin, which this engine does not read (PyTorch pickles); save the adapter with safe_serialization"
                : $"{folder}: no {WeightsFileName}");
        var config = LoraConfig.Read(configPath);
        var weights = SafetensorsFile.Open(weightsPath);
        try
        {
            var (layers, replacements) = ReadTensors(reference, config, weights);
            return new LoraAdapter(reference, folder, config, weights, layers, replacements);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }, e => new AdapterException(e.Message, e));

    /// <summary>
    /// Refuses an adapter trained on another model, when both the model and the adapter's
    /// <c>base_model_name_or_path</c> are Hub ids: their repositories must be the same (letter case and revision
    /// aside). A model given as a folder is taken as the base whatever its name; the shapes are checked either way.
    /// </summary>
    public void CheckBaseModel(string model)
    {
        if (Directory.Exists(model) || !HubModelId.TryParse(model, out var modelId)) return;
        if (Config.BaseModelNameOrPath is not { } recorded || !HubModelId.TryParse(recorded, out var baseId)) return;
        if (!string.Equals(modelId.RepoId, baseId.RepoId, StringComparison.OrdinalIgnoreCase))
            throw new AdapterException($"adapter {Reference.Location} was trained on {baseId.RepoId}, not {modelId.RepoId} (give the model as a folder to apply it anyway)");
    }

    private static (List<LoraLayer>, List<(string, string)>) ReadTensors(AdapterReference reference, LoraConfig config, SafetensorsFile weights)
    {
        var factors = new Dictionary<string, (LoraLayerKind Kind, string? A, string? B)>(StringComparer.Ordinal);
        var replacements = new List<(string, string)>();
        // transformers' own adapter support (add_adapter, save_pretrained) saves the same keys without the prefix.
        var names = weights.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        int prefix = names.Count(n => n.StartsWith(Prefix, StringComparison.Ordinal)) == names.Count ? Prefix.Length : 0;
        foreach (string name in names)
        {
            if (prefix == 0 && name.StartsWith(Prefix, StringComparison.Ordinal))
                throw new AdapterException($"{weights.Path}: tensor '{name}' is under '{Prefix}' but '{names.First(n => !n.StartsWith(Prefix, StringComparison.Ordinal))}' is not; a PEFT adapter has all of its tensors there or none");
            string key = name[prefix..];
            if (!SafetensorsDTypes.IsFloat(weights.Entry(name).DType))
                throw new AdapterException($"{weights.Path}: tensor '{name}' is stored as {weights.Entry(name).DType}, not as floating-point numbers");
            if (Factor(key) is { } factor)
            {
                var (module, kind, isA) = factor;
                var known = factors.GetValueOrDefault(module, (kind, null, null));
                if (known.Kind != kind) throw new AdapterException($"{weights.Path}: module '{module}' has both linear and embedding LoRA factors");
                factors[module] = isA ? known with { A = name } : known with { B = name };
            }
            else if (key.Contains("lora_", StringComparison.Ordinal))
                throw new AdapterException($"{weights.Path}: tensor '{name}' is not a LoRA factor this engine merges (lora_A/lora_B.weight, lora_embedding_A/B)");
            else
                replacements.Add((name, key.Replace(".base_layer.", ".", StringComparison.Ordinal)));
        }

        var layers = new List<LoraLayer>();
        foreach (var (module, (kind, a, b)) in factors.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (a is null || b is null)
                throw new AdapterException($"{weights.Path}: module '{module}' has {(a is null ? "a B factor but no A" : "an A factor but no B")}");
            if (!config.Targets(module))
                throw new AdapterException($"{weights.Path}: tensor '{a}' adapts '{module}', which target_modules does not name");
            var shapeA = weights.Entry(a).Shape;
            var shapeB = weights.Entry(b).Shape;
            var (rank, scaling) = config.ScalingOf(module);
            if (shapeA.Length != 2 || shapeB.Length != 2 || shapeA[0] != rank || shapeB[1] != rank)
                throw new AdapterException($"{weights.Path}: '{a}' {ShapeText.Format(shapeA)} and '{b}' {ShapeText.Format(shapeB)} are not the factors of a rank-{rank} LoRA layer (the rank adapter_config.json gives '{module}')");
            layers.Add(new LoraLayer(module, kind, a, b, rank, scaling * reference.Scale));
        }
        return (layers, replacements);
    }

    /// <summary>The module, layer kind and factor (A or B) a key names, or null when it is no LoRA factor.</summary>
    private static (string Module, LoraLayerKind Kind, bool IsA)? Factor(string key)
    {
        foreach (var (suffix, kind, isA) in FactorSuffixes)
            if (key.EndsWith(suffix, StringComparison.Ordinal) && key.Length > suffix.Length)
                return (key[..^suffix.Length], kind, isA);
        return null;
    }

    private static readonly (string Suffix, LoraLayerKind Kind, bool IsA)[] FactorSuffixes =
    [
        (".lora_A.weight", LoraLayerKind.Linear, true),
        (".lora_B.weight", LoraLayerKind.Linear, false),
        (".lora_embedding_A", LoraLayerKind.Embedding, true),
        (".lora_embedding_B", LoraLayerKind.Embedding, false),
    ];

    public override string ToString() => Reference.ToString();

    public void Dispose() => Weights.Dispose();
}
