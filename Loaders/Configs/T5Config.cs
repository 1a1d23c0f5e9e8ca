namespace MusicGen.Loaders.Configs;

/// <summary>T5 encoder configuration (transformers' T5Config), the text_encoder of a MusicGen checkpoint.</summary>
public sealed record T5Config(
    int VocabSize,
    int DModel,
    int DKv,
    int DFf,
    int NumLayers,
    int NumHeads,
    int RelativeAttentionNumBuckets,
    int RelativeAttentionMaxDistance,
    double LayerNormEpsilon,
    bool IsGatedAct,
    string DenseActFn)
{
    public int InnerDim => NumHeads * DKv;

    public static T5Config Read(ConfigReader json)
    {
        string feedForward = json.String("feed_forward_proj", "relu");
        var parts = feedForward.Split('-');
        bool gated = parts[0] == "gated";
        if (parts.Length > 2 || (parts.Length == 2 && !gated))
            throw new MusicGenException($"T5 config: feed_forward_proj '{feedForward}' is not of the form 'gated-ACT' or 'ACT'");
        // transformers maps gated-gelu to the tanh approximation (gelu_new).
        string activation = feedForward == "gated-gelu" ? "gelu_new" : parts[^1];
        var config = new T5Config(
            VocabSize: json.RequiredInt("vocab_size", 2, ConfigLimits.Vocabulary),
            DModel: json.RequiredInt("d_model", 1, ConfigLimits.Width),
            DKv: json.RequiredInt("d_kv", 1, ConfigLimits.Width),
            DFf: json.RequiredInt("d_ff", 1, ConfigLimits.FeedForward),
            NumLayers: json.RequiredInt("num_layers", 1, ConfigLimits.Layers),
            NumHeads: json.RequiredInt("num_heads", 1, ConfigLimits.Heads),
            RelativeAttentionNumBuckets: json.Int("relative_attention_num_buckets", 32, 2, 4096),
            RelativeAttentionMaxDistance: json.Int("relative_attention_max_distance", 128, 1, ConfigLimits.Positions),
            LayerNormEpsilon: json.Double("layer_norm_epsilon", 1e-6, 0, 1),
            IsGatedAct: gated,
            DenseActFn: activation);
        json.ThrowIfMissing();
        if (activation is not ("relu" or "gelu" or "gelu_new"))
            throw new MusicGenException($"T5 config: activation '{activation}' is not supported (relu, gelu, gelu_new)");
        return config;
    }
}
