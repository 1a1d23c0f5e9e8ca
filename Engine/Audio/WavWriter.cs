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

    public static void Write(Stream stream, AudioClip clip, SampleFormat format, string displayName)
    {
        WriteHeader(stream, clip.ChannelCount, clip.SampleRate, format, clip.Length, displayName);
        WriteSamples(stream, clip, format);
    }

    /// <summary>
    /// The header of a file of <paramref name="frames"/> frames, or, when null, of a stream of unknown length as
    /// ffmpeg writes one to a pipe: RIFF and data sizes 0xFFFFFFFF and no fact chunk (readers take the samples up to
    /// the end of the stream). <paramref name="withFactChunk"/> false leaves the fact chunk out of a float header of
    /// known length, so that it fits the place of a streamed header it replaces.
    /// </summary>
    public static void WriteHeader(Stream stream, int channels, int sampleRate, SampleFormat format, long? frames, string displayName, bool withFactChunk = true)
    {
        bool isFloat = format == SampleFormat.Float32;
        int bytesPerSample = format.Bits() / 8;
        int blockAlign = channels * bytesPerSample;
        if (blockAlign > ushort.MaxValue)
            throw new MusicGenException($"{displayName}: {channels} channels are more than a WAV file can hold");
        long dataBytes = (frames ?? 0) * blockAlign;
        int fmtBytes = isFloat ? 18 : 16;
        int factChunkBytes = isFloat && frames is not null && withFactChunk ? 12 : 0;
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
    public static void WriteSamples(Stream stream, AudioClip clip, SampleFormat format)
    {
        int bytesPerSample = format.Bits() / 8, blockAlign = clip.ChannelCount * bytesPerSample;
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
                    Span<byte> first = block[(c * bytesPerSample)..];
                    switch (format)
                    {
                        case SampleFormat.Float32: EncodeFloat32(source, first, blockAlign); break;
                        case SampleFormat.Pcm16: EncodePcm16(source, first, blockAlign); break;
                        default: EncodePcm24(source, first, blockAlign); break;
                    }
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
            BinaryPrimitives.WriteInt16LittleEndian(first[(f * stride)..], (short)SampleFormats.Quantize(source[f], 16));
    }

    private static void EncodePcm24(ReadOnlySpan<float> source, Span<byte> first, int stride)
    {
        for (int f = 0; f < source.Length; f++)
        {
            int value = SampleFormats.Quantize(source[f], 24), at = f * stride;
            (first[at], first[at + 1], first[at + 2]) = ((byte)value, (byte)(value >> 8), (byte)(value >> 16));
        }
    }
}
