using MusicGen.Engine.Models.Encodec;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Generated codes [B, K, n] (stereo: codebooks interleaved L0 R0 L1 R1 …) to audio [B, channels, samples] while
/// they are generated: each channel's codebooks through the mono codec's streaming decoder, as
/// <see cref="MusicgenGenerator.DecodeAudio"/> decodes them whole.
/// </summary>
public sealed class AudioStream : IDisposable
{
    private readonly EncodecStreamingDecoder _decoder;
    private readonly int _batch, _channels, _codebooks;

    public AudioStream(EncodecModel codec, int batch, int codebooks, int channels)
    {
        _batch = batch;
        _channels = channels;
        _codebooks = codebooks;
        _decoder = new EncodecStreamingDecoder(codec, batch * channels, codebooks / channels);
    }

    /// <summary>Frames that must be generated before the first audio comes out.</summary>
    public int FirstAudioFrames => _decoder.FirstAudioFrames;

    /// <summary>Adds the codes [B, K, frames]; returns the audio [B, channels, samples] that became final (maybe none).</summary>
    public float[] Push(int[] codes, int frames)
    {
        int perChannel = _codebooks / _channels;
        var byChannel = new int[codes.Length]; // [B · channels, K / channels, frames]
        for (int b = 0; b < _batch; b++)
            for (int k = 0; k < perChannel; k++)
                for (int c = 0; c < _channels; c++)
                    codes.AsSpan((b * _codebooks + k * _channels + c) * frames, frames)
                        .CopyTo(byChannel.AsSpan(((b * _channels + c) * perChannel + k) * frames));
        return _decoder.Push(byChannel, frames); // [B · channels, 1, samples] is [B, channels, samples]
    }

    /// <summary>The audio of the last frames, once generation is over.</summary>
    public float[] Finish() => _decoder.Finish();

    public void Dispose() => _decoder.Dispose();
}
