using System.Buffers.Binary;

namespace MusicGen.Engine.Audio.Flac;

/// <summary>
/// The STREAMINFO metadata block (RFC 9639 §8.2): block and frame size bounds, the stream's format, its length in
/// samples per channel (0: unknown) and the MD5 of its samples (all zero: not computed).
/// </summary>
public sealed record FlacStreamInfo(
    int MinBlockSize, int MaxBlockSize, int MinFrameSize, int MaxFrameSize, int SampleRate, int Channels, int BitsPerSample,
    long TotalSamples, byte[] Md5)
{
    /// <summary>Bytes of the block's body.</summary>
    public const int Size = 34;

    public void WriteTo(Span<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)MinBlockSize);
        BinaryPrimitives.WriteUInt16BigEndian(body[2..], (ushort)MaxBlockSize);
        WriteUInt24(body[4..], MinFrameSize);
        WriteUInt24(body[7..], MaxFrameSize);
        // 20 bits of rate, 3 of channels − 1, 5 of bits − 1, 36 of total samples.
        ulong packed = (ulong)SampleRate << 44 | (ulong)(Channels - 1) << 41 | (ulong)(BitsPerSample - 1) << 36 | (ulong)TotalSamples & 0xF_FFFF_FFFF;
        BinaryPrimitives.WriteUInt64BigEndian(body[10..], packed);
        Md5.CopyTo(body[18..]);
    }

    public static FlacStreamInfo Read(ReadOnlySpan<byte> body)
    {
        ulong packed = BinaryPrimitives.ReadUInt64BigEndian(body[10..]);
        return new FlacStreamInfo(
            BinaryPrimitives.ReadUInt16BigEndian(body), BinaryPrimitives.ReadUInt16BigEndian(body[2..]),
            ReadUInt24(body[4..]), ReadUInt24(body[7..]),
            (int)(packed >> 44), (int)(packed >> 41 & 7) + 1, (int)(packed >> 36 & 31) + 1, (long)(packed & 0xF_FFFF_FFFF),
            body.Slice(18, 16).ToArray());
    }

    private static void WriteUInt24(Span<byte> target, int value)
    {
        target[0] = (byte)(value >> 16);
        target[1] = (byte)(value >> 8);
        target[2] = (byte)value;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> source) => source[0] << 16 | source[1] << 8 | source[2];
}
