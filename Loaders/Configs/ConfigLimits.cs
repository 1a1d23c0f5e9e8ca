namespace MusicGen.Loaders.Configs;

/// <summary>
/// The largest sizes a config may declare: well above every published MusicGen, T5 and EnCodec checkpoint (whose
/// largest values are in the comments), and low enough that nothing allocated from them can exhaust memory before
/// the weights are checked against them.
/// </summary>
public static class ConfigLimits
{
    /// <summary>Model widths: hidden sizes, d_model, d_kv, filters (musicgen-large: 2048; T5-large: 1024).</summary>
    public const int Width = 16384;
    /// <summary>Feed-forward widths (musicgen-large: 8192).</summary>
    public const int FeedForward = 1 << 17;
    /// <summary>Layers of one stack (musicgen-large: 48).</summary>
    public const int Layers = 1024;
    /// <summary>Attention heads (musicgen-large: 32).</summary>
    public const int Heads = 1024;
    /// <summary>Vocabularies and token ids (T5: 32128; codebooks: 2048).</summary>
    public const int Vocabulary = 1 << 20;
    /// <summary>Positions and sequence lengths (MusicGen: 2048).</summary>
    public const int Positions = 1 << 14;
    /// <summary>Codebooks a decoder predicts (stereo: 8).</summary>
    public const int Codebooks = 64;
    /// <summary>Convolution kernels (EnCodec: 7).</summary>
    public const int Kernel = 1024;
    /// <summary>Audio sample rates (EnCodec: 32000).</summary>
    public const int SampleRate = 384_000;
    /// <summary>Samples per codec frame (EnCodec 32 kHz: 640).</summary>
    public const int Hop = 1 << 16;
}
