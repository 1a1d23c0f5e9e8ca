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
        GuidanceScale: json.NullableDouble("guidance_scale"),
        TopK: json.NullableInt("top_k"),
        TopP: json.NullableDouble("top_p"),
        Temperature: json.NullableDouble("temperature"),
        MaxLength: json.NullableInt("max_length"),
        MaxNewTokens: json.NullableInt("max_new_tokens"),
        DecoderStartTokenId: json.NullableInt("decoder_start_token_id"),
        PadTokenId: json.NullableInt("pad_token_id"));
}
