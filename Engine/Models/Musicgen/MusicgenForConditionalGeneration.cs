using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Engine.Models.Layers;
using MusicGen.Engine.Models.T5;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// MusicGen (modeling_musicgen.MusicgenForConditionalGeneration): the T5 text encoder, the optional projection
/// of its states to the decoder width, the decoder with its heads, and the EnCodec codec.
/// </summary>
public sealed class MusicgenForConditionalGeneration : IMusicgenModel
{
    private readonly IBackend _backend;
    private readonly Linear? _encToDecProj; // d_text -> D
    private TensorInspector? _inspector;

    public MusicgenConfig Config { get; }
    public T5Encoder TextEncoder { get; }
    public MusicgenForCausalLM Decoder { get; }
    public EncodecModel AudioEncoder { get; }
    public int ConditioningPositions => 0;
    public bool AcceptsAudioPrompts => true;
    public bool AcceptsMelodies => false;

    /// <inheritdoc/>
    public TensorInspector? Inspector
    {
        get => _inspector;
        set
        {
            _inspector = value;
            TextEncoder.Inspector = value.Scoped("text_encoder.");
            Decoder.Inspector = value.Scoped("decoder.");
            AudioEncoder.Inspector = value.Scoped("audio_encoder.");
        }
    }

    /// <summary>
    /// Loads the model; the matrices of its linear layers (text encoder and decoder) in <paramref name="weightType"/>,
    /// the codec's recurrent LSTM matrices in the type <see cref="EncodecModel.RecurrentTypeFor"/> gives beside it,
    /// the decoder's key/value cache in <paramref name="cacheType"/> (null: <see cref="DecoderCache.DefaultType"/>).
    /// </summary>
    public MusicgenForConditionalGeneration(IBackend backend, CheckpointFolder checkpoint, WeightType weightType = WeightType.F32, WeightType? cacheType = null)
    {
        _backend = backend;
        Config = checkpoint.RequireMusicgen();
        if (Config.Kind != MusicgenKind.Musicgen)
            throw new MusicGenException($"{checkpoint.Folder}: a {checkpoint.ModelType} checkpoint needs the melody model");
        var weights = checkpoint.AllWeights.WithMatrixType(weightType);
        TextEncoder = new T5Encoder(backend, Config.TextEncoder, weights.Scope("text_encoder."));
        int decoderWidth = Config.Decoder.HiddenSize, textWidth = Config.TextEncoder.DModel;
        if (Config.HasEncoderProjection) _encToDecProj = new Linear(backend, weights, "enc_to_dec_proj", textWidth, decoderWidth, bias: true);
        int sourceWidth = Config.HasEncoderProjection ? decoderWidth : Config.Decoder.CrossAttentionHiddenSize ?? textWidth;
        Decoder = new MusicgenForCausalLM(backend, Config.Decoder, weights.Scope("decoder."), sourceWidth, cacheType);
        AudioEncoder = new EncodecModel(backend, Config.AudioEncoder, checkpoint.CodecWeights.WithMatrixType(EncodecModel.RecurrentTypeFor(weightType)));
    }

    public DecoderCache StartDecoding(MusicgenConditioning conditioning, int positions)
    {
        int rows = conditioning.DecoderBatch, textWidth = Config.TextEncoder.DModel;
        if (conditioning.Chroma is not null)
            throw new MusicGenException("this checkpoint is not a melody model; it cannot be conditioned on a tune");
        if (conditioning.TextStates is not { } text)
        {
            // get_unconditional_inputs: one zero state per item, fully masked.
            using var zeros = _backend.Allocate(rows, 1, textWidth);
            return StartDecoding(zeros, new float[rows], positions);
        }
        int length = text.Dim(1);
        using var states = _backend.Allocate(rows, length, textWidth);
        _backend.Copy(text, states.Slice(0, conditioning.Batch));
        var mask = new float[rows * length];
        conditioning.TextMask.CopyTo(mask, 0);
        return StartDecoding(states, mask, positions);
    }

    /// <summary>
    /// The decoder's cache for a generation conditioned on encoder states [N, S, d_text] with mask [N, S]: the
    /// states are projected (when the widths differ), multiplied by the mask, and turned into every layer's
    /// cross-attention keys and values once. The inspector sees "enc_to_dec_proj" (before the mask) when there is one.
    /// </summary>
    public DecoderCache StartDecoding(Tensor encoderStates, ReadOnlySpan<float> mask, int capacity)
    {
        int batch = encoderStates.Dim(0), length = encoderStates.Dim(1);
        int width = _encToDecProj is null ? encoderStates.Dim(2) : Config.Decoder.HiddenSize;
        var conditioning = _backend.Allocate(batch, length, width);
        var rows = conditioning.Reshape(batch * length, width);
        if (_encToDecProj is not null)
        {
            _encToDecProj.Forward(encoderStates.Reshape(batch * length, encoderStates.Dim(2)), rows);
            _inspector?.Invoke("enc_to_dec_proj", conditioning);
        }
        else
        {
            _backend.Copy(encoderStates, conditioning);
        }
        _backend.ScaleRows(rows, mask, rows);

        var layers = Decoder.Decoder.Layers;
        int decoderWidth = Config.Decoder.HiddenSize;
        var keys = new Tensor[layers.Count];
        var values = new Tensor[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            keys[i] = _backend.Allocate(batch, length, decoderWidth);
            values[i] = _backend.Allocate(batch, length, decoderWidth);
            layers[i].EncoderAttention!.ProjectKeysAndValues(rows, keys[i].Reshape(batch * length, decoderWidth), values[i].Reshape(batch * length, decoderWidth));
        }
        conditioning.Dispose();
        var crossMask = _backend.Upload(mask, batch, length);
        return new DecoderCache(_backend, Decoder.Decoder, batch, capacity, keys, values, crossMask);
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        TextEncoder.Dispose();
        _encToDecProj?.Dispose();
        Decoder.Dispose();
        AudioEncoder.Dispose();
    }
}
