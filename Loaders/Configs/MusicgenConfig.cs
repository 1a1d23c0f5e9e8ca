namespace MusicGen.Loaders.Configs;

public enum MusicgenKind { Musicgen, MusicgenMelody }

/// <summary>
/// The composite MusicGen config.json: text_encoder (T5), audio_encoder (EnCodec) and decoder sub-configs, plus
/// the melody settings when model_type is musicgen_melody.
/// </summary>
public sealed record MusicgenConfig(
    MusicgenKind Kind,
    T5Config TextEncoder,
    EncodecConfig AudioEncoder,
    MusicgenDecoderConfig Decoder,
    int NumChroma,
    int ChromaLength)
{
    public static MusicgenConfig Read(ConfigReader json, string modelType)
    {
        var kind = modelType switch
        {
            "musicgen" => MusicgenKind.Musicgen,
            "musicgen_melody" => MusicgenKind.MusicgenMelody,
            _ => throw new MusicGenException($"model_type '{modelType}' is not a MusicGen model"),
        };
        var config = new MusicgenConfig(
            kind,
            T5Config.Read(json.Child("text_encoder")),
            EncodecConfig.Read(json.Child("audio_encoder")),
            MusicgenDecoderConfig.Read(json.Child("decoder")),
            NumChroma: json.Int("num_chroma", 12, 1, 1024),
            ChromaLength: json.Int("chroma_length", 235, 1, ConfigLimits.Positions));
        json.ThrowIfMissing();
        if (config.Decoder.NumCodebooks != config.AudioEncoder.NumQuantizers * config.Decoder.AudioChannels)
            throw new MusicGenException(
                $"config: the decoder predicts {config.Decoder.NumCodebooks} codebooks but the codec has {config.AudioEncoder.NumQuantizers} quantizers for {config.Decoder.AudioChannels} channel(s)");
        return config;
    }

    /// <summary>Whether the decoder needs enc_to_dec_proj (text encoder and decoder widths differ).</summary>
    public bool HasEncoderProjection =>
        TextEncoder.DModel != Decoder.HiddenSize && Decoder.CrossAttentionHiddenSize is null;
}
