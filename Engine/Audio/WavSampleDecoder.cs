using System.Buffers.Binary;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Turns interleaved little-endian frames into planar floats. Integers are divided by 2^(bits-1) (8-bit ones are
/// unsigned, centred on 128); floats are copied, narrowing 64-bit ones.
/// </summary>
public static class WavSampleDecoder
{
    /// <summary>Decodes whole <paramref name="frames"/> into <c>channels[c][firstFrame..]</c>.</summary>
    public static void Decode(ReadOnlySpan<byte> frames, WavFormat format, float[][] channels, int firstFrame)
    {
        int frameCount = frames.Length / format.BlockAlign;
        for (int c = 0; c < format.ChannelCount; c++)
        {
            Span<float> target = channels[c].AsSpan(firstFrame, frameCount);
            ReadOnlySpan<byte> first = frames[(c * format.BytesPerSample)..];
            switch (format.Encoding, format.BitsPerSample)
            {
                case (WavEncoding.Integer, 8): DecodeUnsigned8(first, format.BlockAlign, target); break;
                case (WavEncoding.Integer, 16): DecodeInt16(first, format.BlockAlign, target); break;
                case (WavEncoding.Integer, 24): DecodeInt24(first, format.BlockAlign, target); break;
                case (WavEncoding.Integer, 32): DecodeInt32(first, format.BlockAlign, target); break;
                case (WavEncoding.Float, 32): DecodeFloat32(first, format.BlockAlign, target); break;
                case (WavEncoding.Float, 64): DecodeFloat64(first, format.BlockAlign, target); break;
                default: throw new ArgumentException($"no decoder for {format.BitsPerSample}-bit {format.Encoding}", nameof(format));
            }
        }
    }

    // Each loop reads one channel: the sample of frame f starts at f * stride in `first`.
    // Scaling by a power of two is exact in float, so multiplying by the reciprocal equals dividing.

    private static void DecodeUnsigned8(ReadOnlySpan<byte> first, int stride, Span<float> target)
    {
        for (int f = 0; f < target.Length; f++)
            target[f] = (first[f * stride] - 128) * (1f / 128);
    }

    private static void DecodeInt16(ReadOnlySpan<byte> first, int stride, Span<float> target)
    {
        for (int f = 0; f < target.Length; f++)
            target[f] = BinaryPrimitives.ReadInt16LittleEndian(first[(f * stride)..]) * (1f / 32768);
    }

    private static void DecodeInt24(ReadOnlySpan<byte> first, int stride, Span<float> target)
    {
        for (int f = 0; f < target.Length; f++)
        {
            int at = f * stride;
            int value = first[at] | first[at + 1] << 8 | (sbyte)first[at + 2] << 16;
            target[f] = value * (1f / 8388608);
        }
    }

    private static void DecodeInt32(ReadOnlySpan<byte> first, int stride, Span<float> target)
    {
        for (int f = 0; f < target.Length; f++)
            target[f] = BinaryPrimitives.ReadInt32LittleEndian(first[(f * stride)..]) * (1f / 2147483648);
    }

    private static void DecodeFloat32(ReadOnlySpan<byte> first, int stride, Span<float> target)
    {
        for (int f = 0; f < target.Length; f++)
            target[f] = BinaryPrimitives.ReadSingleLittleEndian(first[(f * stride)..]);
    }

    private static void DecodeFloat64(ReadOnlySpan<byte> first, int stride, Span<float> target)
    {
        for (int f = 0; f < target.Length; f++)
            target[f] = (float)BinaryPrimitives.ReadDoubleLittleEndian(first[(f * stride)..]);
    }
}
