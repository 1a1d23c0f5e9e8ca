using MusicGen.Engine.Audio;
using MusicGen.Engine.Models.Encodec;

namespace MusicGen.Engine.Codec;

/// <summary>
/// Codes to audio while they are generated: the codec's streaming decoder (<see cref="EncodecStreamingDecoder"/>)
/// over the codec's batch (<see cref="AudioCodec"/>), giving the audio a whole decode gives, within float rounding.
/// </summary>
public sealed class AudioStream : IDisposable
{
    private readonly AudioCodec _codec;
    private readonly EncodecStreamingDecoder _decoder;
    private readonly int _batch, _chunkFrames;
    private readonly List<CodesBatch> _pending = [];

    /// <summary>Decodes whenever chunkFrames frames have come (fewer frames at a time cost more context recomputed).</summary>
    internal AudioStream(AudioCodec codec, int batch, int codebooks, int chunkFrames)
    {
        _codec = codec;
        _batch = batch;
        _chunkFrames = chunkFrames;
        _decoder = new EncodecStreamingDecoder(codec.Model, codec.CodecItems(batch), codebooks);
    }

    /// <summary>Frames that must be generated before the first audio comes out, with chunks of one frame.</summary>
    public int FirstAudioFrames => _decoder.FirstAudioFrames;

    /// <summary>Adds the next frames' codes [B, C, K, n]; returns the audio [B, C, samples] that became final (maybe none).</summary>
    public AudioBatch Push(CodesBatch codes)
    {
        _pending.Add(codes);
        return _pending.Sum(c => c.Frames) < _chunkFrames ? _codec.AudioOf([], _batch) : Decode(final: false);
    }

    /// <summary>The audio of the last frames, once generation is over.</summary>
    public AudioBatch Finish() => Decode(final: true);

    private AudioBatch Decode(bool final)
    {
        int frames = _pending.Sum(c => c.Frames);
        float[] audio = frames > 0 ? _decoder.Push(CodesBatch.Concatenate(_pending).Values, frames) : []; // [B · C, 1, n · hop]
        _pending.Clear();
        return final ? AudioBatch.Concatenate([_codec.AudioOf(audio, _batch), _codec.AudioOf(_decoder.Finish(), _batch)]) : _codec.AudioOf(audio, _batch);
    }

    public void Dispose() => _decoder.Dispose();
}
