namespace MusicGen.Engine.Audio;

/// <summary>The validated content of a fmt chunk: one frame is <see cref="BlockAlign"/> bytes, one sample per channel.</summary>
public sealed record WavFormat(WavEncoding Encoding, int ChannelCount, int SampleRate, int BitsPerSample)
{
    public int BytesPerSample => BitsPerSample / 8;

    public int BlockAlign => ChannelCount * BytesPerSample;
}
