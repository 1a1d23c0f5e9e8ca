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
    private readonly int _batch, _channels, _sampleRate;

    public AudioStream(EncodecModel codec, int batch, int channels, int codebooksPerChannel)
    {
        _batch = batch;
        _channels = channels;
        _sampleRate = codec.Config.SamplingRate;
        _decoder = new EncodecStreamingDecoder(codec, batch * channels, codebooksPerChannel);
    }

    /// <summary>Frames that must be generated before the first audio comes out.</summary>
    public int FirstAudioFrames => _decoder.FirstAudioFrames;

    /// <summary>Adds the next frames' codes [B, C, K', n]; returns the audio [B, C, samples] that became final (maybe none).</summary>
    public AudioBatch Push(CodesBatch codes) => Batch(_decoder.Push(codes.Values, codes.Frames)); // [B · C, K', n] as the codec's batch

    /// <summary>The audio of the last frames, once generation is over.</summary>
    public AudioBatch Finish() => Batch(_decoder.Finish());

    private AudioBatch Batch(float[] audio) => new(_sampleRate, _batch, _channels, audio.Length / (_batch * _channels), audio);

    public void Dispose() => _decoder.Dispose();
}
