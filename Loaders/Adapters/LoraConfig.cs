using System.Text.Json;
using System.Text.RegularExpressions;
using MusicGen.Loaders.Configs;

namespace MusicGen.Loaders.Adapters;

/// <summary>
/// PEFT's LoraConfig as adapter_config.json holds it (peft/tuners/lora/config.py), reduced to what merging needs:
/// the rank and alpha of every module (<c>r</c>, <c>lora_alpha</c>, <c>rank_pattern</c>, <c>alpha_pattern</c>,
/// <c>use_rslora</c>) and which modules it targets (<c>target_modules</c>). Missing fields take PEFT's defaults. A
/// config asking for what plain LoRA merging cannot reproduce is an error naming the field: another
/// <c>peft_type</c>, DoRA and the other LoRA variants, an initialisation that changes the base weights.
/// <c>fan_in_fan_out</c> is read and has no effect: PEFT itself turns it off for torch.nn.Linear layers
/// (<c>dispatch_default</c> in peft/tuners/lora/layer.py), and every layer of MusicGen a LoRA can target is one,
/// or an embedding, whose delta PEFT always transposes.
/// </summary>
public sealed class LoraConfig
{
    public const string FileName = "adapter_config.json";

    /// <summary>The largest rank accepted: far beyond any width of MusicGen.</summary>
    public const int MaxRank = 1 << 16;

    /// <summary>Variants and options whose saved tensors mean something else than a plain LoRA delta.</summary>
    private static readonly string[] UnsupportedWhenSet =
    [
        "use_dora", "lora_bias", "use_qalora", "use_bdlora", "alora_invocation_tokens", "arrow_config", "velora_config",
        "monteclora_config", "kasa_config", "layer_replication", "trainable_token_indices", "target_parameters",
    ];

    /// <summary>Initialisations that leave the base weights as they are (the others, PiSSA, OLoRA, LoftQ, …, change them).</summary>
    private static readonly string[] BaseKeepingInits = ["gaussian", "eva", "orthogonal"];

    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private readonly string _where;
    private readonly IReadOnlyList<string>? _targetList;
    private readonly Regex? _targetPattern;
    private readonly IReadOnlyList<(Regex Key, int Rank)> _rankPattern;
    private readonly IReadOnlyList<(Regex Key, double Alpha)> _alphaPattern;

    public int R { get; }
    public double LoraAlpha { get; }
    public bool UseRslora { get; }
    /// <summary>The base model the adapter was trained on, as PEFT recorded it: a Hub id or a path on the trainer's machine.</summary>
    public string? BaseModelNameOrPath { get; }

    private LoraConfig(string where, int r, double alpha, bool rslora, string? baseModel, IReadOnlyList<string>? targetList,
        Regex? targetPattern, IReadOnlyList<(Regex, int)> rankPattern, IReadOnlyList<(Regex, double)> alphaPattern)
    {
        _where = where;
        R = r;
        LoraAlpha = alpha;
        UseRslora = rslora;
        BaseModelNameOrPath = baseModel;
        _targetList = targetList;
        _targetPattern = targetPattern;
        _rankPattern = rankPattern;
        _alphaPattern = alphaPattern;
    }

    public static LoraConfig Read(string path)
    {
        using var document = ConfigReader.ParseFile(path);
        var root = ConfigReader.RootObject(document, path);
        var json = new ConfigReader(root, path);
        string peftType = json.String("peft_type", "");
        if (peftType != "LORA")
            throw new AdapterException($"{path}: peft_type is '{peftType}'; only LoRA adapters (peft_type LORA) can be merged");
        foreach (string field in UnsupportedWhenSet)
            if (root.TryGetProperty(field, out var value) && IsSet(value))
                throw new AdapterException($"{path}: '{field}' is set; this LoRA variant cannot be merged as a plain LoRA delta (merge it with PEFT's merge_and_unload and load the merged checkpoint instead)");
        if (root.TryGetProperty("init_lora_weights", out var init) && init.ValueKind == JsonValueKind.String && !BaseKeepingInits.Contains(init.GetString()))
            throw new AdapterException($"{path}: init_lora_weights '{init.GetString()}' is not supported: only true, false, {string.Join(", ", BaseKeepingInits)} leave the base weights as they are (convert the adapter with PEFT first)");
        string bias = json.String("bias", "none");
        if (bias is not ("none" or "all" or "lora_only"))
            throw new AdapterException($"{path}: bias is '{bias}', expected none, all or lora_only");
        json.Bool("fan_in_fan_out", false); // checked, and without effect (see above)

        int r = json.Int("r", 8, 1, MaxRank);
        double alpha = json.Double("lora_alpha", 8, -1e6, 1e6);
        bool rslora = json.Bool("use_rslora", false);
        string? baseModel = json.Has("base_model_name_or_path") ? json.String("base_model_name_or_path", "") : null;
        var (targetList, targetPattern) = ReadTargets(root, path);
        var rankPattern = ReadPattern<int>(root, "rank_pattern", path, v => v.TryGetInt32(out int rank) && rank is >= 1 and <= MaxRank ? rank : null, $"an integer from 1 to {MaxRank}");
        var alphaPattern = ReadPattern<double>(root, "alpha_pattern", path, v => v.TryGetDouble(out double a) && Math.Abs(a) <= 1e6 ? a : null, "a number from -1000000 to 1000000");
        ReadModuleNames(root, "modules_to_save", path); // checked; what it saved is in the weights under the model's own names
        return new LoraConfig(path, r, alpha, rslora, baseModel, targetList, targetPattern, rankPattern, alphaPattern);
    }

    /// <summary>
    /// Whether target_modules names a module, as PEFT's <c>check_target_module_exists</c> decides
    /// (peft/tuners/tuners_utils.py): a list entry equal to the name or to its end after a dot, or a string the
    /// whole name matches as a regular expression.
    /// </summary>
    public bool Targets(string module)
    {
        if (_targetList is not null)
            return _targetList.Any(t => module == t || module.EndsWith("." + t, StringComparison.Ordinal));
        return Matches(_targetPattern!, module, "target_modules");
    }

    /// <summary>
    /// The rank and the scaling factor of a module's delta (peft/tuners/lora/layer.py, <c>update_layer</c>:
    /// <c>lora_alpha / sqrt(r)</c> with <c>use_rslora</c>, else <c>lora_alpha / r</c>), with r and alpha from the
    /// first <c>rank_pattern</c> / <c>alpha_pattern</c> key matching the module as PEFT's <c>get_pattern_key</c>
    /// matches it (peft/utils/other.py), else from <c>r</c> and <c>lora_alpha</c>.
    /// </summary>
    public (int Rank, double Scaling) ScalingOf(string module)
    {
        int r = _rankPattern.FirstOrDefault(p => Matches(p.Key, module, "rank_pattern")) is { Key: not null } rank ? rank.Rank : R;
        double alpha = _alphaPattern.FirstOrDefault(p => Matches(p.Key, module, "alpha_pattern")) is { Key: not null } a ? a.Alpha : LoraAlpha;
        return (r, UseRslora ? alpha / Math.Sqrt(r) : alpha / r);
    }

    private bool Matches(Regex pattern, string module, string field)
    {
        try
        {
            return pattern.IsMatch(module);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new AdapterException($"{_where}: matching {field} against '{module}' took too long");
        }
    }

    /// <summary>A value PEFT would act on: true, a non-zero number, a non-empty string, list or object.</summary>
    private static bool IsSet(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.Number => !value.TryGetDouble(out double number) || number != 0,
        JsonValueKind.String => value.GetString()!.Length > 0,
        JsonValueKind.Array => value.GetArrayLength() > 0,
        JsonValueKind.Object => value.EnumerateObject().Any(),
        _ => false,
    };

    private static (IReadOnlyList<string>?, Regex?) ReadTargets(JsonElement root, string path)
    {
        if (!root.TryGetProperty("target_modules", out var targets) || targets.ValueKind == JsonValueKind.Null)
            throw new AdapterException($"{path}: no target_modules; a LoRA adapter names the modules it adapts");
        if (targets.ValueKind == JsonValueKind.String)
            return (null, Compile($"^(?:{targets.GetString()})\\z", path, "target_modules"));
        return (ReadModuleNames(root, "target_modules", path), null);
    }

    private static IReadOnlyList<string> ReadModuleNames(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var names) || names.ValueKind == JsonValueKind.Null) return [];
        if (names.ValueKind != JsonValueKind.Array || names.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
            throw new AdapterException($"{path}: {field} is not a list of module names");
        return names.EnumerateArray().Select(n => n.GetString()!).ToList();
    }

    private static IReadOnlyList<(Regex, T)> ReadPattern<T>(JsonElement root, string field, string path, Func<JsonElement, T?> read, string expected)
        where T : struct
    {
        if (!root.TryGetProperty(field, out var pattern) || pattern.ValueKind == JsonValueKind.Null) return [];
        if (pattern.ValueKind != JsonValueKind.Object) throw new AdapterException($"{path}: {field} is not an object of module patterns");
        var entries = new List<(Regex, T)>();
        foreach (var entry in pattern.EnumerateObject())
        {
            T value = (entry.Value.ValueKind == JsonValueKind.Number ? read(entry.Value) : null)
                ?? throw new AdapterException($"{path}: {field} gives '{entry.Name}' {entry.Value.GetRawText()}, expected {expected}");
            entries.Add((Compile($"^(?:.*\\.)?(?:{entry.Name})\\z", path, field), value));
        }
        return entries;
    }

    private static Regex Compile(string pattern, string path, string field)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new AdapterException($"{path}: {field} holds a pattern this engine cannot read as a regular expression ({e.Message})");
        }
    }
}
