using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Models.Encodec;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Generated codes to audio while they are generated: each channel's codebooks through the mono codec's
/// streaming decoder (<see cref="EncodecStreamingDecoder"/>), as <see cref="MusicgenGenerator.DecodeAudio"/>
/// decodes them whole.
/// </summary>
public sealed class AudioStream : IDisposable
{
    private readonly EncodecStreamingDecoder _decoder;
    private readonly int _batch, _channels, _sampleRate, _chunkFrames;
    private readonly List<CodesBatch> _pending = [];

    /// <summary>Decodes whenever chunkFrames frames have come (fewer frames at a time cost more context recomputed).</summary>
    public AudioStream(EncodecModel codec, int batch, int channels, int codebooksPerChannel, int chunkFrames = 1)
    {
        _batch = batch;
        _channels = channels;
        _chunkFrames = chunkFrames;
        _sampleRate = codec.Config.SamplingRate;
        _decoder = new EncodecStreamingDecoder(codec, batch * channels, codebooksPerChannel);
    }

    /// <summary>Frames that must be generated before the first audio comes out, with chunks of one frame.</summary>
    public int FirstAudioFrames => _decoder.FirstAudioFrames;

    /// <summary>Adds the next frames' codes [B, C, K', n]; returns the audio [B, C, samples] that became final (maybe none).</summary>
    public AudioBatch Push(CodesBatch codes)
    {
        _pending.Add(codes);
        return _pending.Sum(c => c.Frames) < _chunkFrames ? Batch([]) : Decode(final: false);
    }

    /// <summary>The audio of the last frames, once generation is over.</summary>
    public AudioBatch Finish() => Decode(final: true);

    private AudioBatch Decode(bool final)
    {
        int frames = _pending.Sum(c => c.Frames), rows = _batch * _channels * (_pending.Count > 0 ? _pending[0].Codebooks : 0), at = 0;
        var codes = new int[rows * frames]; // [B · C, K', frames]: the codec's batch is the items' channels
        foreach (var piece in _pending)
        {
            for (int row = 0; row < rows; row++) piece.Values.AsSpan(row * piece.Frames, piece.Frames).CopyTo(codes.AsSpan(row * frames + at));
            at += piece.Frames;
        }
        _pending.Clear();
        var audio = frames > 0 ? _decoder.Push(codes, frames) : [];
        return final ? AudioBatch.Concatenate([Batch(audio), Batch(_decoder.Finish())]) : Batch(audio);
    }

    private AudioBatch Batch(float[] audio) => new(_sampleRate, _batch, _channels, audio.Length / (_batch * _channels), audio);

    public void Dispose() => _decoder.Dispose();
}
