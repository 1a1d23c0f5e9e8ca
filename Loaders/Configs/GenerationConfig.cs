namespace MusicGen.Loaders.Configs;

/// <summary>Sampling defaults from generation_config.json; each is null when the file does not set it.</summary>
public sealed record GenerationConfig(
    bool? DoSample,
    double? GuidanceScale,
    int? TopK,
    double? TopP,
    double? Temperature,
    int? MaxLength,
    int? MaxNewTokens,
    int? DecoderStartTokenId,
    int? PadTokenId)
{
    public static GenerationConfig Empty { get; } = new(null, null, null, null, null, null, null, null, null);

    public static GenerationConfig Read(ConfigReader json) => new(
        DoSample: json.Has("do_sample") ? json.Bool("do_sample", false) : null,
        GuidanceScale: json.NullableDouble("guidance_scale", 0, 1e6),
        TopK: json.NullableInt("top_k", 0, ConfigLimits.Vocabulary),
        TopP: json.NullableDouble("top_p", 0, 1),
        Temperature: json.NullableDouble("temperature", 0, 1e6),
        MaxLength: json.NullableInt("max_length", 1, ConfigLimits.Positions),
        MaxNewTokens: json.NullableInt("max_new_tokens", 1, ConfigLimits.Positions),
        DecoderStartTokenId: json.NullableInt("decoder_start_token_id", 0, ConfigLimits.Vocabulary),
        PadTokenId: json.NullableInt("pad_token_id", 0, ConfigLimits.Vocabulary));
}
