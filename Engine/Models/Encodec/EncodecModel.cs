using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// The EnCodec codec (modeling_encodec.EncodecModel) without chunking or normalization, as MusicGen uses it:
/// audio → SEANet encoder → RVQ codes, and codes → summed codebook vectors → SEANet decoder → audio.
/// </summary>
public sealed class EncodecModel : IDisposable
{
    private readonly IBackend _backend;
    private TensorInspector? _inspector;

    public IBackend Backend => _backend;
    public EncodecConfig Config { get; }
    public EncodecEncoder Encoder { get; }
    public EncodecDecoder Decoder { get; }
    public ResidualVectorQuantizer Quantizer { get; }

    /// <summary>Sees "encoder.layers.i", "quantizer.decode" (the summed codebook vectors) and "decoder.layers.i".</summary>
    public TensorInspector? Inspector
    {
        get => _inspector;
        set
        {
            _inspector = value;
            Encoder.Inspector = value.Scoped("encoder.");
            Decoder.Inspector = value.Scoped("decoder.");
        }
    }

    /// <summary>
    /// The codec; the LSTMs' recurrent matrices in weights' matrix type (f32 or bf16, <see cref="RecurrentTypeFor"/>),
    /// every other weight in float32.
    /// </summary>
    public EncodecModel(IBackend backend, EncodecConfig config, WeightReader weights)
    {
        if (weights.MatrixType is not (WeightType.F32 or WeightType.BF16))
            throw new ArgumentException($"the codec keeps its recurrent matrices in f32 or bf16, not {weights.MatrixType}", nameof(weights));
        _backend = backend;
        Config = config;
        Encoder = new EncodecEncoder(backend, config, weights.Scope("encoder."));
        Decoder = new EncodecDecoder(backend, config, weights.Scope("decoder."));
        Quantizer = new ResidualVectorQuantizer(backend, config, weights.Scope("quantizer."));
    }

    /// <summary>
    /// The type of the LSTMs' recurrent matrices beside a MusicGen model whose linear layers use
    /// <paramref name="modelWeights"/>: float32 with float32 (exact), else bfloat16. The recurrent product reads all
    /// of W_hh at every step from the shared cache, a large share of a decode; bfloat16 halves the bytes and converts
    /// with one shift (float16 needs a dozen instructions per vector without F16C, and gains little), for an error of
    /// the decoded audio well within the codec's tolerance (README, Weight types, has the figures).
    /// </summary>
    public static WeightType RecurrentTypeFor(WeightType modelWeights) => modelWeights == WeightType.F32 ? WeightType.F32 : WeightType.BF16;

    /// <summary>Quantizers for a bandwidth in kbps, which must be one of the config's target bandwidths.</summary>
    public int QuantizersFor(double bandwidth)
    {
        if (!Config.TargetBandwidths.Contains(bandwidth))
            throw new MusicGenException($"bandwidth {bandwidth} kbps is not one of this codec's target bandwidths ({string.Join(", ", Config.TargetBandwidths)})");
        return Config.QuantizersForBandwidth(bandwidth);
    }

    /// <summary>Codes [B, Q, F] for audio [B, channels, S]; F = ⌈S / hop⌉.</summary>
    public int[] Encode(Tensor audio, int quantizers)
    {
        if (audio.Dim(1) != Config.AudioChannels)
            throw new MusicGenException($"the codec takes {Config.AudioChannels} channel(s), got {audio.Dim(1)}");
        if (audio.Dim(2) == 0) throw new MusicGenException("cannot encode empty audio");
        using var embeddings = Encoder.Forward(audio);
        return Quantizer.Encode(embeddings, quantizers);
    }

    /// <summary>Audio [B, channels, F · hop] for codes [B, Q, F].</summary>
    public Tensor Decode(ReadOnlySpan<int> codes, int batch, int quantizers, int frames)
    {
        using var embeddings = Quantizer.Decode(codes, batch, quantizers, frames);
        _inspector?.Invoke("quantizer.decode", embeddings);
        return Decoder.Forward(embeddings);
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        Encoder.Dispose();
        Decoder.Dispose();
        Quantizer.Dispose();
    }
}
