using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Writes a canonical WAV file: RIFF header, fmt chunk, then the interleaved samples. Float32 uses format tag 3 with
/// the cbSize field and the fact chunk the specification asks of non-PCM formats.
/// </summary>
public static class WavWriter
{
    private const int BlockFrames = 1 << 16;

    public static void Write(Stream stream, AudioClip clip, WavSampleFormat format, string displayName)
    {
        WriteHeader(stream, clip.SampleRate, clip.ChannelCount, clip.Length, format, displayName);
        WriteSamples(stream, clip.Channels, 0, clip.Length, format);
    }

    /// <summary>
    /// The header of a WAV file of <paramref name="frames"/> frames, for writing the samples later in pieces with
    /// <see cref="WriteSamples"/> (a stream served while the audio is still being made).
    /// </summary>
    public static void WriteHeader(Stream stream, int sampleRate, int channels, int frames, WavSampleFormat format, string displayName)
    {
        bool isFloat = format == WavSampleFormat.Float32;
        int bytesPerSample = BytesPerSample(format);
        int blockAlign = channels * bytesPerSample;
        if (blockAlign > ushort.MaxValue)
            throw new MusicGenException($"{displayName}: {channels} channels are more than a WAV file can hold");
        long dataBytes = (long)frames * blockAlign;
        int fmtBytes = isFloat ? 18 : 16;
        int factChunkBytes = isFloat ? 12 : 0;
        long riffSize = 4 + (8 + fmtBytes) + factChunkBytes + 8 + dataBytes;
        if (riffSize > uint.MaxValue)
            throw new MusicGenException(
                $"{displayName}: {dataBytes} bytes of samples are more than a WAV file can hold (4 GiB); write a shorter clip");

        // BinaryWriter is little-endian, as RIFF is; it is used for the header only, never per sample.
        using var header = new BinaryWriter(stream, Encoding.ASCII, leaveOpen: true);
        header.Write("RIFF"u8);
        header.Write((uint)riffSize);
        header.Write("WAVE"u8);
        header.Write("fmt "u8);
        header.Write(fmtBytes);
        header.Write(isFloat ? WavFormatTag.IeeeFloat : WavFormatTag.Pcm);
        header.Write((ushort)channels);
        header.Write(sampleRate);
        header.Write((uint)((long)sampleRate * blockAlign));
        header.Write((ushort)blockAlign);
        header.Write((ushort)(bytesPerSample * 8));
        if (isFloat)
        {
            header.Write((ushort)0); // cbSize: no extension
            header.Write("fact"u8);
            header.Write(4);
            header.Write(frames);
        }
        header.Write("data"u8);
        header.Write((uint)dataBytes);
    }

    /// <summary>Bytes of one sample of one channel.</summary>
    public static int BytesPerSample(WavSampleFormat format) => format == WavSampleFormat.Float32 ? 4 : 2;

    /// <summary>Frames [from, from + count) of the channels, interleaved, after a header from <see cref="WriteHeader"/>.</summary>
    public static void WriteSamples(Stream stream, float[][] channels, int from, int count, WavSampleFormat format)
    {
        bool isFloat = format == WavSampleFormat.Float32;
        int blockAlign = channels.Length * BytesPerSample(format);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(BlockFrames, Math.Max(count, 1)) * blockAlign);
        try
        {
            for (int done = 0; done < count; done += BlockFrames)
            {
                int frames = Math.Min(BlockFrames, count - done);
                Span<byte> block = buffer.AsSpan(0, frames * blockAlign);
                for (int c = 0; c < channels.Length; c++)
                {
                    ReadOnlySpan<float> source = channels[c].AsSpan(from + done, frames);
                    if (isFloat) EncodeFloat32(source, block[(c * 4)..], blockAlign);
                    else EncodePcm16(source, block[(c * 2)..], blockAlign);
                }
                stream.Write(block);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void EncodeFloat32(ReadOnlySpan<float> source, Span<byte> first, int stride)
    {
        for (int f = 0; f < source.Length; f++)
            BinaryPrimitives.WriteSingleLittleEndian(first[(f * stride)..], source[f]);
    }

    private static void EncodePcm16(ReadOnlySpan<float> source, Span<byte> first, int stride)
    {
        for (int f = 0; f < source.Length; f++)
            BinaryPrimitives.WriteInt16LittleEndian(first[(f * stride)..], ToPcm16(source[f]));
    }

    /// <summary>Clamps to [-1, 1] and scales by 32767, rounding to nearest. NaN becomes 0: .NET's float-to-integer conversion saturates.</summary>
    private static short ToPcm16(float sample) => (short)MathF.Round(Math.Clamp(sample, -1f, 1f) * 32767f);
}
