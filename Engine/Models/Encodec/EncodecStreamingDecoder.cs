using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// Decodes codes to audio while they are still being generated, giving the audio that
/// <see cref="EncodecModel.Decode"/> gives for the whole sequence (up to float rounding). The SEANet decoder is
/// a convolution, the LSTM, then convolutions; the LSTM runs over each frame once with its state carried from
/// chunk to chunk, and each stage of convolutions runs over its new frames plus the context its receptive field
/// needs: the frames before (recomputed) and the frames after, which the non-causal convolutions need before a
/// frame's audio is final, so the output lags the codes by <see cref="LatencyFrames"/>. Memory stays bounded:
/// only the contexts are kept.
/// </summary>
public sealed class EncodecStreamingDecoder : IDisposable
{
    private readonly IBackend _backend;
    private readonly EncodecModel _model;
    private readonly IEncodecLayer _inputConv;
    private readonly EncodecLSTM _lstm;
    private readonly IReadOnlyList<IEncodecLayer> _tail;
    private readonly EncodecLstmState _state;
    private readonly int _batch, _quantizers, _hop, _width;
    private readonly (int Left, int Right) _inputContext, _tailContext; // in frames

    private int[] _codes;      // [B, Q, _codesCount], frames [_codesStart, _codesStart + _codesCount)
    private int _codesStart, _codesCount;
    private float[] _lstmOut;  // [B, H, _lstmCount], frames [_lstmStart, _lstmStart + _lstmCount)
    private int _lstmStart, _lstmCount;
    private int _audioFrames;  // frames whose audio has been returned
    private bool _finished;

    /// <summary>A stream of codes [batch, quantizers, frames] arriving in chunks of frames.</summary>
    public EncodecStreamingDecoder(EncodecModel model, int batch, int quantizers)
    {
        _model = model;
        _backend = model.Backend;
        _batch = batch;
        _quantizers = quantizers;
        _hop = model.Config.HopLength;
        _inputConv = model.Decoder.Input;
        _lstm = model.Decoder.Lstm;
        _tail = model.Decoder.Upsampling;
        _width = _lstm.Dimension;
        _state = _lstm.StartState(batch);
        _inputContext = _inputConv.InputContext(0, 0);
        _tailContext = Enumerable.Reverse(_tail).Aggregate((Left: 0, Right: 0), (context, layer) => layer.InputContext(context.Left, context.Right));
        _codes = [];
        _lstmOut = [];
    }

    /// <summary>Frames the audio lags the codes by while the stream is open (the look-ahead of both stages).</summary>
    public int LatencyFrames => _inputContext.Right + _tailContext.Right;

    /// <summary>Frames received so far.</summary>
    public int Frames { get; private set; }

    /// <summary>
    /// Adds codes [B, Q, frames] and returns the audio [B, channels, n · hop] of the n frames that became final
    /// (n may be 0).
    /// </summary>
    public float[] Push(ReadOnlySpan<int> codes, int frames)
    {
        if (_finished) throw new InvalidOperationException("the stream is finished");
        if (codes.Length != _batch * _quantizers * frames)
            throw new ArgumentException($"{codes.Length} codes do not form [{_batch}, {_quantizers}, {frames}]");
        _codes = FrameColumns.Append(_codes, _batch * _quantizers, _codesCount, codes, frames);
        _codesCount += frames;
        Frames += frames;
        return Advance(final: false);
    }

    /// <summary>Ends the stream: the audio of the remaining frames, the sequence's end padded as a whole decode pads it.</summary>
    public float[] Finish()
    {
        if (_finished) throw new InvalidOperationException("the stream is finished");
        _finished = true;
        return Advance(final: true);
    }

    private float[] Advance(bool final)
    {
        if (final || Ready(_lstmStart + _lstmCount, Frames, _inputContext)) RunInputStage(final ? Frames : Frames - _inputContext.Right);
        int lstmEnd = _lstmStart + _lstmCount;
        if (!final && !Ready(_audioFrames, lstmEnd, _tailContext)) return [];
        return RunTailStage(final ? lstmEnd : lstmEnd - _tailContext.Right, lstmEnd, final);
    }

    /// <summary>
    /// Whether a stage may run: at the start of the sequence the reflect padding mirrors the frames after it (even
    /// in causal convolutions), so the first window needs Left + Right + 1 frames before anything in it is final.
    /// </summary>
    private static bool Ready(int done, int available, (int Left, int Right) context) =>
        done > 0 || available >= context.Left + context.Right + 1;

    /// <summary>Frames that must have arrived before the first audio comes out (the stream then lags by <see cref="LatencyFrames"/>).</summary>
    public int FirstAudioFrames =>
        Math.Max(_inputContext.Left + _inputContext.Right + 1, _inputContext.Right + _tailContext.Left + _tailContext.Right + 1);

    /// <summary>Quantizer, first convolution and LSTM for frames up to target, each frame once.</summary>
    private void RunInputStage(int target)
    {
        int done = _lstmStart + _lstmCount;
        if (target <= done) return;
        int from = Math.Max(0, done - _inputContext.Left), to = Math.Min(Frames, target + _inputContext.Right);
        var window = FrameColumns.Slice(_codes, _batch * _quantizers, _codesCount, from - _codesStart, to - from);
        using var embeddings = _model.Quantizer.Decode(window, _batch, _quantizers, to - from); // [B, D, n]
        using var convolved = _inputConv.Forward(embeddings);                                    // [B, H, n]
        using var fresh = _backend.Allocate(_batch, _width, target - done);                      // [B, H, m]
        _backend.CopyBlocks(convolved, done - from, to - from, fresh, 0, target - done, target - done, _batch * _width);
        using var lstm = _lstm.Forward(fresh, _state);                                           // [B, H, m]
        _lstmOut = FrameColumns.Append(_lstmOut, _batch * _width, _lstmCount, lstm.ToArray(), target - done);
        _lstmCount += target - done;

        int keep = Math.Max(_codesStart, target - _inputContext.Left);
        _codes = FrameColumns.Slice(_codes, _batch * _quantizers, _codesCount, keep - _codesStart, _codesStart + _codesCount - keep);
        _codesCount -= keep - _codesStart;
        _codesStart = keep;
    }

    /// <summary>The convolutions after the LSTM for frames [_audioFrames, target), over the LSTM output up to end.</summary>
    private float[] RunTailStage(int target, int end, bool final)
    {
        if (target <= _audioFrames) return [];
        int from = Math.Max(0, _audioFrames - _tailContext.Left), to = final ? end : Math.Min(end, target + _tailContext.Right);
        var window = FrameColumns.Slice(_lstmOut, _batch * _width, _lstmCount, from - _lstmStart, to - from);
        using var input = _backend.Upload(window, _batch, _width, to - from);
        using var audio = EncodecLayerStack.Run(_tail, input, null); // [B, C, n · hop]
        int channels = audio.Dim(1), length = (target - _audioFrames) * _hop;
        using var fresh = _backend.Allocate(_batch, channels, length);
        _backend.CopyBlocks(audio, (_audioFrames - from) * _hop, (to - from) * _hop, fresh, 0, length, length, _batch * channels);
        _audioFrames = target;

        int keep = Math.Max(_lstmStart, target - _tailContext.Left);
        _lstmOut = FrameColumns.Slice(_lstmOut, _batch * _width, _lstmCount, keep - _lstmStart, _lstmStart + _lstmCount - keep);
        _lstmCount -= keep - _lstmStart;
        _lstmStart = keep;
        return fresh.ToArray();
    }

    public void Dispose() => _state.Dispose();
}
