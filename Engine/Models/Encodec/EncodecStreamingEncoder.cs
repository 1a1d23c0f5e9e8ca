using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// Encodes audio to codes a piece at a time, giving the codes <see cref="EncodecModel.Encode"/> gives for the whole
/// sequence (up to float rounding, which can tip a frame whose embedding lies almost halfway between two codebook
/// vectors). The SEANet encoder is convolutions down to the frame rate, the LSTM, then a convolution; as in
/// <see cref="EncodecStreamingDecoder"/>, the LSTM runs over each frame once with its state carried from piece to
/// piece, and each stage of convolutions runs over its new frames plus the context its receptive field needs: the
/// samples before (whole frames of them, so that every strided convolution stays on the whole sequence's grid) and
/// after. Memory stays bounded by the piece: only the contexts and the codes are kept.
/// </summary>
public sealed class EncodecStreamingEncoder : IDisposable
{
    private readonly IBackend _backend;
    private readonly EncodecModel _model;
    private readonly IEncodecLayer[] _head;
    private readonly EncodecLSTM _lstm;
    private readonly IEncodecLayer[] _tail;
    private readonly EncodecLstmState _state;
    private readonly int _batch, _channels, _quantizers, _hop, _width;
    private readonly (int Left, int Right) _headContext; // in samples
    private readonly int _headLeftFrames;                // the head's left context rounded up to whole frames
    private readonly (int Left, int Right) _tailContext; // in frames

    private float[] _audio = [];  // [B, C, _audioCount], samples [_audioStart, _audioStart + _audioCount)
    private long _audioStart;
    private int _audioCount;
    private float[] _lstmOut = []; // [B, H, _lstmCount], frames [_lstmStart, _lstmStart + _lstmCount)
    private int _lstmStart, _lstmCount;
    private int _codedFrames;      // frames whose codes have been returned
    private bool _finished;

    /// <summary>A stream of audio [batch, the codec's channels, samples] arriving in pieces, coded with <paramref name="quantizers"/> codebooks.</summary>
    public EncodecStreamingEncoder(EncodecModel model, int batch, int quantizers)
    {
        if (quantizers < 1 || quantizers > model.Quantizer.NumQuantizers)
            throw new ArgumentOutOfRangeException(nameof(quantizers), $"{quantizers} quantizers requested, the codec has {model.Quantizer.NumQuantizers}");
        _model = model;
        _backend = model.Backend;
        _batch = batch;
        _channels = model.Config.AudioChannels;
        _quantizers = quantizers;
        _hop = model.Config.HopLength;
        var layers = model.Encoder.Layers;
        int lstm = layers.ToList().FindIndex(layer => layer is EncodecLSTM);
        _head = layers.Take(lstm).ToArray();
        _lstm = (EncodecLSTM)layers[lstm];
        _tail = layers.Skip(lstm + 1).ToArray();
        _width = _lstm.Dimension;
        _state = _lstm.StartState(batch);
        _headContext = ContextOf(_head);
        _headLeftFrames = (_headContext.Left + _hop - 1) / _hop;
        _tailContext = ContextOf(_tail);
    }

    private static (int Left, int Right) ContextOf(IEnumerable<IEncodecLayer> layers) =>
        layers.Reverse().Aggregate((Left: 0, Right: 0), (context, layer) => layer.InputContext(context.Left, context.Right));

    /// <summary>Samples received so far (per channel).</summary>
    public long Samples { get; private set; }

    /// <summary>Frames whose codes have been returned so far.</summary>
    public int CodedFrames => _codedFrames;

    /// <summary>Adds audio [B, C, samples] and returns the codes [B, Q, n] of the n frames that became final (n may be 0).</summary>
    public int[] Push(ReadOnlySpan<float> audio, int samples)
    {
        if (_finished) throw new InvalidOperationException("the stream is finished");
        if (audio.Length != (long)_batch * _channels * samples)
            throw new ArgumentException($"{audio.Length} samples do not form [{_batch}, {_channels}, {samples}]");
        _audio = FrameColumns.Append(_audio, _batch * _channels, _audioCount, audio, samples);
        _audioCount += samples;
        Samples += samples;
        return Advance(final: false);
    }

    /// <summary>Ends the stream: the codes of the remaining frames, the sequence's end padded as a whole encode pads it.</summary>
    public int[] Finish()
    {
        if (_finished) throw new InvalidOperationException("the stream is finished");
        if (Samples == 0) throw new MusicGenException("cannot encode empty audio");
        _finished = true;
        return Advance(final: true);
    }

    private int[] Advance(bool final)
    {
        // A frame is final once the samples its receptive field reads after it have arrived; at the start the reflect
        // padding mirrors samples after the first ones, so the first window needs Left + Right + 1 samples (as in
        // the decoder's stages).
        long frames = final ? (Samples + _hop - 1) / _hop : Math.Max(0, (Samples - _headContext.Right) / _hop);
        if (final || _lstmStart + _lstmCount > 0 || Samples >= _headContext.Left + _headContext.Right + 1) RunHeadStage(checked((int)frames));
        int lstmEnd = _lstmStart + _lstmCount;
        if (!final && _codedFrames == 0 && lstmEnd < _tailContext.Left + _tailContext.Right + 1) return [];
        return RunTailStage(final ? lstmEnd : lstmEnd - _tailContext.Right, lstmEnd, final);
    }

    /// <summary>The convolutions before the LSTM and the LSTM for frames up to target, each frame through the LSTM once.</summary>
    private void RunHeadStage(int target)
    {
        int done = _lstmStart + _lstmCount;
        if (target <= done) return;
        // The window starts on a frame boundary, so that every strided convolution's outputs fall on the whole
        // sequence's; it takes every sample there is, the look-ahead of the frames up to target included.
        long from = (long)Math.Max(0, done - _headLeftFrames) * _hop;
        int length = checked((int)(Samples - from)), skip = (int)(from / _hop);
        var window = FrameColumns.Slice(_audio, _batch * _channels, _audioCount, (int)(from - _audioStart), length);
        using var input = _backend.Upload(window, _batch, _channels, length);          // [B, C, n]
        using var convolved = EncodecLayerStack.Run(_head, input, null);              // [B, H, ⌈n / hop⌉]
        using var fresh = _backend.Allocate(_batch, _width, target - done);             // [B, H, m]
        _backend.CopyBlocks(convolved, done - skip, convolved.Dim(2), fresh, 0, target - done, target - done, _batch * _width);
        using var lstm = _lstm.Forward(fresh, _state);                                  // [B, H, m]
        _lstmOut = FrameColumns.Append(_lstmOut, _batch * _width, _lstmCount, lstm.ToArray(), target - done);
        _lstmCount += target - done;

        long keep = Math.Max(_audioStart, (long)Math.Max(0, target - _headLeftFrames) * _hop);
        _audio = FrameColumns.Slice(_audio, _batch * _channels, _audioCount, (int)(keep - _audioStart), (int)(_audioStart + _audioCount - keep));
        _audioCount -= (int)(keep - _audioStart);
        _audioStart = keep;
    }

    /// <summary>The layers after the LSTM and the quantizer for frames [coded, target), over the LSTM output up to end.</summary>
    private int[] RunTailStage(int target, int end, bool final)
    {
        if (target <= _codedFrames) return [];
        int from = Math.Max(0, _codedFrames - _tailContext.Left), to = final ? end : Math.Min(end, target + _tailContext.Right);
        var window = FrameColumns.Slice(_lstmOut, _batch * _width, _lstmCount, from - _lstmStart, to - from);
        using var input = _backend.Upload(window, _batch, _width, to - from);          // [B, H, n]
        using var embeddings = EncodecLayerStack.Run(_tail, input, null);              // [B, D, n]
        int count = target - _codedFrames, dimension = embeddings.Dim(1);
        using var fresh = _backend.Allocate(_batch, dimension, count);                  // [B, D, m]
        _backend.CopyBlocks(embeddings, _codedFrames - from, to - from, fresh, 0, count, count, _batch * dimension);
        int[] codes = _model.Quantizer.Encode(fresh, _quantizers);                      // [B, Q, m]
        _codedFrames = target;

        int keep = Math.Max(_lstmStart, target - _tailContext.Left);
        _lstmOut = FrameColumns.Slice(_lstmOut, _batch * _width, _lstmCount, keep - _lstmStart, _lstmStart + _lstmCount - keep);
        _lstmCount -= keep - _lstmStart;
        _lstmStart = keep;
        return codes;
    }

    public void Dispose() => _state.Dispose();
}
