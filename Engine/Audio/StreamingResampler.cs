namespace MusicGen.Engine.Audio;

/// <summary>
/// <see cref="Resampler"/> for audio that arrives in chunks: each output sample is computed as soon as the input
/// its filter reaches has arrived, and <see cref="Finish"/> computes the rest with the zeros past the end. The
/// chunks it returns, one after another, are exactly what resampling the whole signal at once gives.
/// </summary>
public sealed class StreamingResampler
{
    private readonly ResamplingKernel _kernel;
    private readonly int _minFirstTap;
    private float[][] _buffer;
    private long _bufferStart, _received, _emitted;
    private bool _finished;

    public StreamingResampler(int fromRate, int toRate, int channels)
    {
        _kernel = new ResamplingKernel(fromRate, toRate);
        _minFirstTap = Enumerable.Range(0, _kernel.Phases).Min(_kernel.FirstTap);
        _buffer = Enumerable.Range(0, channels).Select(_ => new float[_kernel.TapCount + _kernel.InputStride]).ToArray();
    }

    /// <summary>Takes a chunk (planar, one array per channel) and returns the output samples it completes.</summary>
    public float[][] Push(float[][] chunk)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        int length = chunk[0].Length;
        int kept = (int)(_received - _bufferStart);
        if (kept + length > _buffer[0].Length)
            for (int c = 0; c < _buffer.Length; c++) Array.Resize(ref _buffer[c], Math.Max(kept + length, _buffer[c].Length * 2));
        for (int c = 0; c < _buffer.Length; c++) chunk[c].CopyTo(_buffer[c], kept);
        _received += length;
        return Emit(end: long.MaxValue, finishing: false);
    }

    /// <summary>The output samples left, up to the whole signal's resampled length.</summary>
    public float[][] Finish()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _finished = true;
        long total = ((long)_received * _kernel.Phases + _kernel.InputStride - 1) / _kernel.InputStride;
        return Emit(end: total, finishing: true);
    }

    /// <summary>
    /// Outputs from the next one on whose filters end within what has arrived, or, when <paramref name="finishing"/>,
    /// all up to <paramref name="end"/> (the signal ends where the input did).
    /// </summary>
    private float[][] Emit(long end, bool finishing)
    {
        int taps = _kernel.TapCount;
        long count = 0;
        for (long o = _emitted; o < end && (finishing || First(o) + taps <= _received); o++) count++;
        var outputs = _buffer.Select(_ => new float[count]).ToArray();
        for (int i = 0; i < count; i++)
        {
            long o = _emitted + i;
            int phase = (int)(o % _kernel.Phases);
            for (int c = 0; c < outputs.Length; c++)
                outputs[c][i] = Resampler.Sample(_kernel.Taps(phase), _buffer[c].AsSpan(0, (int)(_received - _bufferStart)), _bufferStart, _received, First(o));
        }
        _emitted += count;
        Discard();
        return outputs;
    }

    /// <summary>Where output <paramref name="o"/>'s filter starts in the input.</summary>
    private long First(long o)
    {
        long block = o / _kernel.Phases;
        return block * _kernel.InputStride + _kernel.FirstTap((int)(o - block * _kernel.Phases)) - _kernel.Padding;
    }

    /// <summary>Drops the input no later output reaches.</summary>
    private void Discard()
    {
        long needed = (_emitted / _kernel.Phases) * _kernel.InputStride + _minFirstTap - _kernel.Padding;
        int drop = (int)Math.Clamp(needed - _bufferStart, 0, _received - _bufferStart);
        if (drop == 0) return;
        int kept = (int)(_received - _bufferStart) - drop;
        foreach (float[] channel in _buffer) Array.Copy(channel, drop, channel, 0, kept);
        _bufferStart += drop;
    }
}
