namespace MusicGen.Loaders.Configs;

/// <summary>MusicGen decoder configuration (transformers' MusicgenDecoderConfig and its melody twin).</summary>
public sealed record MusicgenDecoderConfig(
    int VocabSize,
    int MaxPositionEmbeddings,
    int HiddenSize,
    int NumHiddenLayers,
    int FfnDim,
    int NumAttentionHeads,
    string ActivationFunction,
    int NumCodebooks,
    int AudioChannels,
    int PadTokenId,
    int BosTokenId,
    bool ScaleEmbedding,
    int? CrossAttentionHiddenSize)
{
    public int HeadDim => HiddenSize / NumAttentionHeads;

    public static MusicgenDecoderConfig Read(ConfigReader json)
    {
        var config = new MusicgenDecoderConfig(
            VocabSize: json.RequiredInt("vocab_size", 2, ConfigLimits.Vocabulary),
            MaxPositionEmbeddings: json.Int("max_position_embeddings", 2048, 1, ConfigLimits.Positions),
            HiddenSize: json.RequiredInt("hidden_size", 1, ConfigLimits.Width),
            NumHiddenLayers: json.RequiredInt("num_hidden_layers", 1, ConfigLimits.Layers),
            FfnDim: json.RequiredInt("ffn_dim", 1, ConfigLimits.FeedForward),
            NumAttentionHeads: json.RequiredInt("num_attention_heads", 1, ConfigLimits.Heads),
            ActivationFunction: json.String("activation_function", "gelu"),
            NumCodebooks: json.RequiredInt("num_codebooks", 1, ConfigLimits.Codebooks),
            AudioChannels: json.Int("audio_channels", 1, 1, 2),
            PadTokenId: json.Int("pad_token_id", 2048, 0, ConfigLimits.Vocabulary),
            BosTokenId: json.Int("bos_token_id", 2048, 0, ConfigLimits.Vocabulary),
            ScaleEmbedding: json.Bool("scale_embedding", false),
            CrossAttentionHiddenSize: json.NullableInt("cross_attention_hidden_size", 1, ConfigLimits.Width));
        json.ThrowIfMissing();
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw new MusicGenException($"decoder config: hidden_size {config.HiddenSize} is not divisible by num_attention_heads {config.NumAttentionHeads}");
        if (config.AudioChannels is not (1 or 2))
            throw new MusicGenException($"decoder config: audio_channels {config.AudioChannels} is not 1 or 2");
        if (config.AudioChannels == 2 && config.NumCodebooks % 2 != 0)
            throw new MusicGenException($"decoder config: a stereo decoder needs an even num_codebooks, got {config.NumCodebooks}");
        return config;
    }
}
