namespace MusicGen.Loaders.Configs;

/// <summary>EnCodec configuration (transformers' EncodecConfig): a standalone config.json or MusicGen's audio_encoder.</summary>
public sealed record EncodecConfig(
    int SamplingRate,
    int AudioChannels,
    bool Normalize,
    double? ChunkLengthS,
    double? Overlap,
    int HiddenSize,
    int NumFilters,
    int NumResidualLayers,
    int[] UpsamplingRatios,
    string NormType,
    int KernelSize,
    int LastKernelSize,
    int ResidualKernelSize,
    int DilationGrowthRate,
    bool UseCausalConv,
    string PadMode,
    int Compress,
    int NumLstmLayers,
    double TrimRightRatio,
    int CodebookSize,
    int CodebookDim,
    bool UseConvShortcut,
    double[] TargetBandwidths)
{
    /// <summary>Samples per code frame: the product of the upsampling ratios.</summary>
    public int HopLength => (int)Math.Min(int.MaxValue, UpsamplingRatios.Aggregate(1L, (a, b) => Math.Min(a * b, int.MaxValue)));

    public int FrameRate => (int)Math.Ceiling((double)SamplingRate / HopLength);

    /// <summary>Quantizers the model holds, from its largest target bandwidth (as transformers computes it).</summary>
    public int NumQuantizers => (int)Math.Floor(1000 * TargetBandwidths[^1] / (FrameRate * 10));

    /// <summary>
    /// Quantizers used at a target bandwidth in kbps (RVQ get_num_quantizers_for_bandwidth), capped at the ones
    /// the model has, as the reference's slice of its quantizer list caps it.
    /// </summary>
    public int QuantizersForBandwidth(double bandwidth)
    {
        double bitsPerQuantizer = Math.Log2(CodebookSize) * FrameRate;
        int wanted = bandwidth > 0 ? Math.Max(1, (int)Math.Floor(bandwidth * 1000 / bitsPerQuantizer)) : NumQuantizers;
        return Math.Min(wanted, NumQuantizers);
    }

    public static EncodecConfig Read(ConfigReader json)
    {
        int hiddenSize = json.RequiredInt("hidden_size", 1, ConfigLimits.Width);
        var config = new EncodecConfig(
            SamplingRate: json.RequiredInt("sampling_rate", 1, ConfigLimits.SampleRate),
            AudioChannels: json.Int("audio_channels", 1, 1, 2),
            Normalize: json.Bool("normalize", false),
            ChunkLengthS: json.NullableDouble("chunk_length_s", 0, 3600),
            Overlap: json.NullableDouble("overlap", 0, 1),
            HiddenSize: hiddenSize,
            NumFilters: json.RequiredInt("num_filters", 1, ConfigLimits.Width),
            NumResidualLayers: json.Int("num_residual_layers", 1, 1, ConfigLimits.Layers),
            UpsamplingRatios: json.RequiredIntArray("upsampling_ratios", 1, 64, 16),
            NormType: json.String("norm_type", "weight_norm"),
            KernelSize: json.Int("kernel_size", 7, 1, ConfigLimits.Kernel),
            LastKernelSize: json.Int("last_kernel_size", 7, 1, ConfigLimits.Kernel),
            ResidualKernelSize: json.Int("residual_kernel_size", 3, 1, ConfigLimits.Kernel),
            DilationGrowthRate: json.Int("dilation_growth_rate", 2, 1, 16),
            UseCausalConv: json.Bool("use_causal_conv", true),
            PadMode: json.String("pad_mode", "reflect"),
            Compress: json.Int("compress", 2, 1, ConfigLimits.Width),
            NumLstmLayers: json.Int("num_lstm_layers", 2, 0, ConfigLimits.Layers),
            TrimRightRatio: json.Double("trim_right_ratio", 1.0, 0, 1),
            CodebookSize: json.RequiredInt("codebook_size", 2, ConfigLimits.Vocabulary),
            CodebookDim: json.NullableInt("codebook_dim", 1, ConfigLimits.Width) ?? hiddenSize,
            UseConvShortcut: json.Bool("use_conv_shortcut", true),
            TargetBandwidths: json.RequiredDoubleArray("target_bandwidths", 0.001, 10_000, 64));
        json.ThrowIfMissing();
        config.Validate();
        return config;
    }

    private void Validate()
    {
        void Require(bool condition, string problem)
        {
            if (!condition) throw new MusicGenException($"EnCodec config: {problem}");
        }
        Require(SamplingRate > 0 && NumFilters > 0 && HiddenSize > 0 && CodebookDim > 0, "sizes must be positive");
        Require(UpsamplingRatios.Length > 0 && UpsamplingRatios.All(r => r > 0), "upsampling_ratios must be positive");
        Require(TargetBandwidths.Length > 0, "target_bandwidths is empty");
        Require(CodebookSize > 1 && (CodebookSize & (CodebookSize - 1)) == 0, $"codebook_size {CodebookSize} is not a power of 2");
        Require(AudioChannels is 1 or 2, $"audio_channels {AudioChannels} is not 1 or 2");
        Require(NumQuantizers >= 1, "target_bandwidths give no quantizer");
        Require(NormType == "weight_norm", $"norm_type '{NormType}' is not supported (only weight_norm, as in the 32 kHz codec)");
        Require(PadMode is "reflect" or "constant", $"pad_mode '{PadMode}' is not supported");
        Require(!Normalize, "normalize=true (per-chunk audio scales) is not supported");
        Require(ChunkLengthS is null, "chunked encoding (chunk_length_s) is not supported");
        Require(HopLength <= ConfigLimits.Hop, $"upsampling_ratios give a hop of more than {ConfigLimits.Hop} samples");
        Require(HiddenSize % Compress == 0, $"hidden_size {HiddenSize} is not divisible by compress {Compress}");
        Require(UseCausalConv || TrimRightRatio == 1.0, "trim_right_ratio != 1.0 only makes sense for causal convolutions");
    }
}
