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
/// MusicGen-Melody (modeling_musicgen_melody.MusicgenMelodyForConditionalGeneration): no cross-attention; the
/// conditioning — the projected chroma of a tune, repeated or cut to chroma_length frames, then the projected
/// and masked text states — is prepended to the decoder's input.
/// </summary>
public sealed class MusicgenMelodyForConditionalGeneration : IMusicgenModel
{
    private readonly IBackend _backend;
    private readonly Linear? _encToDecProj;      // d_text -> D
    private readonly Linear? _audioEncToDecProj; // num_chroma -> D
    private TensorInspector? _inspector;

    public MusicgenConfig Config { get; }
    public T5Encoder TextEncoder { get; }
    public MusicgenForCausalLM Decoder { get; }
    public EncodecModel AudioEncoder { get; }
    public int ConditioningPositions => Config.ChromaLength;
    public bool AcceptsAudioPrompts => false;
    public bool AcceptsMelodies => true;

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
    public MusicgenMelodyForConditionalGeneration(IBackend backend, CheckpointFolder checkpoint, WeightType weightType = WeightType.F32, WeightType? cacheType = null)
    {
        _backend = backend;
        Config = checkpoint.RequireMusicgen();
        if (Config.Kind != MusicgenKind.MusicgenMelody)
            throw new MusicGenException($"{checkpoint.Folder}: a {checkpoint.ModelType} checkpoint is not a melody model");
        var weights = checkpoint.AllWeights.WithMatrixType(weightType);
        int width = Config.Decoder.HiddenSize, textWidth = Config.TextEncoder.DModel;
        TextEncoder = new T5Encoder(backend, Config.TextEncoder, weights.Scope("text_encoder."));
        if (textWidth != width) _encToDecProj = new Linear(backend, weights, "enc_to_dec_proj", textWidth, width, bias: true);
        if (Config.NumChroma != width) _audioEncToDecProj = new Linear(backend, weights, "audio_enc_to_dec_proj", Config.NumChroma, width, bias: true);
        Decoder = new MusicgenForCausalLM(backend, Config.Decoder, weights.Scope("decoder."), crossAttentionSourceWidth: null, cacheType);
        AudioEncoder = new EncodecModel(backend, Config.AudioEncoder, checkpoint.CodecWeights.WithMatrixType(EncodecModel.RecurrentTypeFor(weightType)));
    }

    /// <summary>
    /// The cache, with the conditioning prefix [N, chroma_length + S, D]. The inspector sees the projections that
    /// exist, "enc_to_dec_proj" (text, before guidance) and "audio_enc_to_dec_proj" (the chroma of every row),
    /// and the prefix as "encoder_hidden_states" (the reference's name for it).
    /// </summary>
    public DecoderCache StartDecoding(MusicgenConditioning conditioning, int positions)
    {
        int rows = conditioning.DecoderBatch, width = Config.Decoder.HiddenSize;
        using var chroma = ProjectChroma(conditioning);  // [N, chroma_length, D]
        using var text = ProjectText(conditioning);      // [N, S, D] or null
        int chromaLength = chroma.Dim(1), textLength = text?.Dim(1) ?? 0, prefixLength = chromaLength + textLength;
        var prefix = _backend.Allocate(rows, prefixLength, width);
        _backend.CopyBlocks(chroma, 0, (long)chromaLength * width, prefix, 0, (long)prefixLength * width, chromaLength * width, rows);
        if (text is not null)
            _backend.CopyBlocks(text, 0, (long)textLength * width, prefix, (long)chromaLength * width, (long)prefixLength * width, textLength * width, rows);
        _inspector?.Invoke("encoder_hidden_states", prefix);
        return new DecoderCache(_backend, Decoder.Decoder, rows, prefixLength + positions, prefix: prefix);
    }

    /// <summary>Text states projected to the decoder width, a zero null half for guidance, times the mask.</summary>
    private Tensor? ProjectText(MusicgenConditioning conditioning)
    {
        if (conditioning.TextStates is not { } states) return null;
        int batch = conditioning.Batch, length = states.Dim(1), width = Config.Decoder.HiddenSize;
        var text = _backend.Allocate(conditioning.DecoderBatch, length, width);
        var items = text.Slice(0, batch);
        if (_encToDecProj is not null)
        {
            _encToDecProj.Forward(states.Reshape(batch * length, states.Dim(2)), items.Reshape(batch * length, width));
            _inspector?.Invoke("enc_to_dec_proj", items);
        }
        else
        {
            _backend.Copy(states, items);
        }
        var mask = new float[conditioning.DecoderBatch * length];
        conditioning.TextMask.CopyTo(mask, 0);
        var flat = text.Reshape(conditioning.DecoderBatch * length, width);
        _backend.ScaleRows(flat, mask, flat);
        return text;
    }

    /// <summary>
    /// The chroma one-hot of each item (a single frame at bin 0 when there is no tune), the same null frames for
    /// the guidance half, projected, then repeated and cut to chroma_length frames.
    /// </summary>
    private Tensor ProjectChroma(MusicgenConditioning conditioning)
    {
        int batch = conditioning.Batch, rows = conditioning.DecoderBatch, bins = Config.NumChroma, width = Config.Decoder.HiddenSize;
        int frames = conditioning.Chroma is null ? 1 : conditioning.ChromaFrames;
        var features = new float[rows * frames * bins];
        for (int n = 0; n < rows; n++)
            for (int f = 0; f < frames; f++)
            {
                bool fromTune = n < batch && conditioning.Chroma is not null;
                for (int c = 0; c < bins; c++)
                    features[(n * frames + f) * bins + c] = fromTune ? conditioning.Chroma![(n * frames + f) * bins + c] : c == 0 ? 1f : 0f;
            }
        using var projected = _backend.Allocate(rows, frames, width);
        using (var input = _backend.Upload(features, rows * frames, bins))
        {
            if (_audioEncToDecProj is not null)
            {
                _audioEncToDecProj.Forward(input, projected.Reshape(rows * frames, width));
                _inspector?.Invoke("audio_enc_to_dec_proj", projected);
            }
            else
            {
                _backend.Copy(input, projected);
            }
        }

        int length = Config.ChromaLength;
        var repeated = _backend.Allocate(rows, length, width);
        for (int start = 0; start < length; start += frames)
        {
            int count = Math.Min(frames, length - start);
            _backend.CopyBlocks(projected, 0, (long)frames * width, repeated, (long)start * width, (long)length * width, count * width, rows);
        }
        return repeated;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        TextEncoder.Dispose();
        _encToDecProj?.Dispose();
        _audioEncToDecProj?.Dispose();
        Decoder.Dispose();
        AudioEncoder.Dispose();
    }
}
