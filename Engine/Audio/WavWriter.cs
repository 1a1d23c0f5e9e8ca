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

    /// <summary>RIFF and data sizes of a stream whose length is unknown, as ffmpeg writes them to a pipe.</summary>
    private const uint UnknownSize = uint.MaxValue;

    public static void Write(Stream stream, AudioClip clip, WavSampleFormat format, string displayName)
    {
        WriteHeader(stream, clip.ChannelCount, clip.SampleRate, format, clip.Length, displayName);
        WriteSamples(stream, clip, format);
    }

    /// <summary>
    /// The header of a file of <paramref name="frames"/> frames, or, when null, of a stream of unknown length as
    /// ffmpeg writes one to a pipe: RIFF and data sizes 0xFFFFFFFF and no fact chunk (readers take the samples up to
    /// the end of the stream).
    /// </summary>
    internal static void WriteHeader(Stream stream, int channels, int sampleRate, WavSampleFormat format, long? frames, string displayName)
    {
        bool isFloat = format == WavSampleFormat.Float32;
        int bytesPerSample = isFloat ? 4 : 2;
        int blockAlign = channels * bytesPerSample;
        if (blockAlign > ushort.MaxValue)
            throw new MusicGenException($"{displayName}: {channels} channels are more than a WAV file can hold");
        long dataBytes = (frames ?? 0) * blockAlign;
        int fmtBytes = isFloat ? 18 : 16;
        int factChunkBytes = isFloat && frames is not null ? 12 : 0;
        long riffSize = 4 + (8 + fmtBytes) + factChunkBytes + 8 + dataBytes;
        if (riffSize > uint.MaxValue)
            throw new MusicGenException(
                $"{displayName}: {dataBytes} bytes of samples are more than a WAV file can hold (4 GiB); write a shorter clip");

        // BinaryWriter is little-endian, as RIFF is; it is used for the header only, never per sample.
        using var header = new BinaryWriter(stream, Encoding.ASCII, leaveOpen: true);
        header.Write("RIFF"u8);
        header.Write(frames is null ? UnknownSize : (uint)riffSize);
        header.Write("WAVE"u8);
        header.Write("fmt "u8);
        header.Write(fmtBytes);
        header.Write(isFloat ? WavFormatTag.IeeeFloat : WavFormatTag.Pcm);
        header.Write((ushort)channels);
        header.Write(sampleRate);
        header.Write((uint)((long)sampleRate * blockAlign));
        header.Write((ushort)blockAlign);
        header.Write((ushort)(bytesPerSample * 8));
        if (isFloat) header.Write((ushort)0); // cbSize: no extension
        if (factChunkBytes > 0)
        {
            header.Write("fact"u8);
            header.Write(4);
            header.Write((uint)frames!.Value);
        }
        header.Write("data"u8);
        header.Write(frames is null ? UnknownSize : (uint)dataBytes);
    }

    /// <summary>The clip's samples, interleaved, in the format.</summary>
    internal static void WriteSamples(Stream stream, AudioClip clip, WavSampleFormat format)
    {
        bool isFloat = format == WavSampleFormat.Float32;
        int blockAlign = clip.ChannelCount * (isFloat ? 4 : 2);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BlockFrames * blockAlign);
        try
        {
            for (int done = 0; done < clip.Length; done += BlockFrames)
            {
                int frames = Math.Min(BlockFrames, clip.Length - done);
                Span<byte> block = buffer.AsSpan(0, frames * blockAlign);
                for (int c = 0; c < clip.ChannelCount; c++)
                {
                    ReadOnlySpan<float> source = clip.Channels[c].AsSpan(done, frames);
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
