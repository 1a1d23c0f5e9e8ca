using MusicGen.Engine.Audio;

namespace MusicGen.Server.Api;

/// <summary>
/// OpenAI's <c>pcm</c> response format: headerless 16-bit little-endian samples, mono at 24 kHz. The piece is mixed
/// down to mono and resampled as it arrives (the same resampler as everywhere, so the chunks join seamlessly).
/// </summary>
internal sealed class RawPcmWriter(Stream stream, int sampleRate, int channels) : AudioWriter(sampleRate, channels)
{
    /// <summary>OpenAI's documented rate for pcm.</summary>
    public const int Rate = 24000;

    private readonly StreamingResampler _resampler = new(sampleRate, Rate, 1);

    protected override void WriteChunk(AudioClip chunk) => WriteMono(_resampler.Push(chunk.ToMono().Channels));

    protected override void FinishStream()
    {
        WriteMono(_resampler.Finish());
        stream.Flush();
    }

    private void WriteMono(float[][] mono)
    {
        if (mono[0].Length > 0) WavWriter.WriteSamples(stream, new AudioClip(Rate, mono), SampleFormat.Pcm16);
    }
}
