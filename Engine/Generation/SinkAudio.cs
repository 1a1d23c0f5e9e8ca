using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Hands a generation's audio to its sink as the sink asks: decoded while the codes come, a chunk of
/// <see cref="GenerationSink.ChunkFrames"/> at a time, or decoded whole once they are complete. Each chunk's
/// Starts mark what of the items' left padding (of a shorter audio prompt) it holds, so that cutting them from
/// every chunk cuts the padding from the piece, as the reference's batch_decode does.
/// </summary>
internal sealed class SinkAudio(GenerationSink sink, GenerationPlan plan, AudioCodec codec, Func<CodesBatch, AudioBatch> decodeWhole) : IDisposable
{
    private readonly AudioStream? _stream = sink.ChunkFrames is int frames ? codec.Stream(plan.Batch, plan.Layout.CodebooksPerChannel, frames) : null;
    private long _emitted;

    /// <summary>The next frames' codes [B, C, K', n].</summary>
    public void Push(CodesBatch codes)
    {
        if (_stream is not null) Emit(_stream.Push(codes));
    }

    /// <summary>The rest of the audio, once <paramref name="codes"/> are the whole piece's.</summary>
    public void Finish(CodesBatch codes, CancellationToken cancellation)
    {
        if (_stream is not null)
        {
            Emit(_stream.Finish());
            return;
        }
        cancellation.ThrowIfCancellationRequested(); // before the long decode
        Emit(decodeWhole(codes));
    }

    private void Emit(AudioBatch chunk)
    {
        if (chunk.Samples == 0 && _stream is not null) return;
        var starts = plan.Starts.Select(padding => (int)Math.Clamp(padding - _emitted, 0, chunk.Samples)).ToArray();
        _emitted += chunk.Samples;
        sink.OnAudio(new AudioBatch(chunk.SampleRate, chunk.Batch, chunk.Channels, chunk.Samples, chunk.Values, starts));
    }

    public void Dispose() => _stream?.Dispose();
}
