using System.Buffers.Binary;
using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Where the samples of a WAV file are: its format and the byte range of its data chunk. Found by walking the RIFF
/// chunks in whatever order they come, skipping unknown ones (with their pad byte when odd-sized).
/// </summary>
public sealed record WavLayout(WavFormat Format, long DataOffset, long DataLength)
{
    private const int RiffHeaderSize = 12;
    private const int ChunkHeaderSize = 8;

    /// <summary>Whole frames in the data chunk; a trailing partial frame, as an interrupted writer leaves, is ignored.</summary>
    public long FrameCount => DataLength / Format.BlockAlign;

    /// <summary>Reads the chunk structure of the seekable <paramref name="stream"/>, from its current position.</summary>
    public static WavLayout Locate(Stream stream, string displayName)
    {
        long start = stream.Position;
        long end = stream.Length;
        long fileLength = end - start;

        Span<byte> riff = stackalloc byte[RiffHeaderSize];
        int riffBytes = ReadAt(stream, start, riff);
        ReadOnlySpan<byte> magic = riff[..Math.Min(riffBytes, 4)];
        if (magic.SequenceEqual("RF64"u8))
            throw new MusicGenException(
                $"{displayName}: RF64 (64-bit WAV) files are not supported; convert it to a standard WAV under 4 GiB");
        if (!"RIFF"u8.StartsWith(magic))
            throw new MusicGenException($"{displayName}: not a RIFF/WAVE file (it starts with {DescribeFourCC(magic)})");
        if (riffBytes < RiffHeaderSize)
            throw new MusicGenException(
                $"{displayName}: truncated header: the file has {fileLength} bytes, fewer than the {RiffHeaderSize}-byte RIFF header");
        if (!riff[8..].SequenceEqual("WAVE"u8))
            throw new MusicGenException($"{displayName}: not a RIFF/WAVE file (a RIFF file of form {DescribeFourCC(riff[8..])})");
        // A finalised file's RIFF size covers exactly the rest of the file; a streaming writer's placeholder does not.
        // This keeps a genuinely empty data chunk followed by other chunks from reading those chunks as samples.
        bool finalised = BinaryPrimitives.ReadUInt32LittleEndian(riff[4..]) == fileLength - 8;

        WavFormat? format = null;
        (long Offset, long Length)? data = null;
        string? overrunChunk = null;
        Span<byte> chunkHeader = stackalloc byte[ChunkHeaderSize];
        Span<byte> formatBody = stackalloc byte[WavFormatChunk.ExtensibleSize];
        long position = start + RiffHeaderSize;
        while ((format is null || data is null) && end - position >= ChunkHeaderSize)
        {
            ReadAt(stream, position, chunkHeader);
            ReadOnlySpan<byte> id = chunkHeader[..4];
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunkHeader[4..]);
            long bodyOffset = position + ChunkHeaderSize;
            long available = end - bodyOffset;

            if (id.SequenceEqual("fmt "u8) && format is null)
            {
                if (size > available)
                    throw new MusicGenException(
                        $"{displayName}: truncated header: the fmt chunk declares {size} bytes but the file ends after {available}");
                int bodyBytes = ReadAt(stream, bodyOffset, formatBody[..(int)Math.Min(size, WavFormatChunk.ExtensibleSize)]);
                format = WavFormatChunk.Parse(formatBody[..bodyBytes], displayName);
            }
            else if (id.SequenceEqual("data"u8) && data is null)
            {
                if (!finalised && IsStreamingPlaceholder(size))
                {
                    data = (bodyOffset, available);
                    break;
                }
                if (size > available)
                    throw new MusicGenException($"{displayName}: truncated: the data chunk declares {size} bytes " +
                        $"but the file ends after {available}; {size - available} bytes are missing");
                data = (bodyOffset, size);
            }
            else if (size > available)
            {
                overrunChunk = DescribeFourCC(id);
            }
            position = bodyOffset + size + (size & 1);
        }

        string truncation = overrunChunk is null
            ? ""
            : $" (the file ends inside a {overrunChunk} chunk, so it may be truncated)";
        if (format is null) throw new MusicGenException($"{displayName}: no fmt chunk, so the sample format is unknown{truncation}");
        if (data is null) throw new MusicGenException($"{displayName}: no data chunk, so there are no samples{truncation}");
        return new WavLayout(format, data.Value.Offset, data.Value.Length);
    }

    /// <summary>Fills as much of <paramref name="buffer"/> as the stream holds from <paramref name="offset"/>; returns the count.</summary>
    private static int ReadAt(Stream stream, long offset, Span<byte> buffer)
    {
        stream.Position = offset;
        return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
    }

    /// <summary>
    /// Data sizes that writers to a pipe leave because they cannot seek back to fill in the real one: 0xFFFFFFFF
    /// (ffmpeg and most others), 0x7FFFF000 (sox) and 0. Such a data chunk runs to the end of the file.
    /// </summary>
    private static bool IsStreamingPlaceholder(uint dataSize) => dataSize is 0xFFFFFFFF or 0x7FFFF000 or 0;

    /// <summary>A four-character code as text when printable, else as hex bytes.</summary>
    private static string DescribeFourCC(ReadOnlySpan<byte> code) =>
        code.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E)
            ? $"the bytes {Convert.ToHexString(code)}"
            : $"'{Encoding.ASCII.GetString(code)}'";
}
