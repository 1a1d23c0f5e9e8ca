namespace MusicGen.Engine.Audio.Flac;

/// <summary>Bits written most significant first into a growing byte buffer, as FLAC frames are laid out.</summary>
public sealed class FlacBitWriter
{
    private byte[] _bytes = new byte[1 << 16];
    private ulong _cache;
    private int _cached;

    /// <summary>Whole bytes written so far (bits still in the cache not counted).</summary>
    public int ByteCount { get; private set; }

    public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, ByteCount);

    public void Clear() => (ByteCount, _cache, _cached) = (0, 0, 0);

    /// <summary>The low <paramref name="count"/> bits of <paramref name="value"/> (0 to 32 bits).</summary>
    public void Write(uint value, int count)
    {
        if (count == 0) return;
        _cache = (_cache << count) | (value & (uint)((1UL << count) - 1));
        _cached += count;
        while (_cached >= 8)
        {
            _cached -= 8;
            Append((byte)(_cache >> _cached));
        }
    }

    /// <summary>A two's complement value in <paramref name="count"/> bits.</summary>
    public void WriteSigned(int value, int count) => Write((uint)value, count);

    /// <summary><paramref name="zeros"/> zero bits, then a one.</summary>
    public void WriteUnary(int zeros)
    {
        for (; zeros >= 32; zeros -= 32) Write(0, 32);
        Write(1, zeros + 1);
    }

    /// <summary>One residual in Rice coding with parameter <paramref name="k"/>: the zigzag-folded value's quotient in unary, then its k low bits.</summary>
    public void WriteRice(int residual, int k)
    {
        uint folded = Fold(residual);
        WriteUnary((int)(folded >> k));
        Write(folded, k);
    }

    /// <summary>0, -1, 1, -2, … to 0, 1, 2, 3, …</summary>
    public static uint Fold(int value) => (uint)((value << 1) ^ (value >> 31));

    /// <summary>Pads with zero bits to the next byte boundary.</summary>
    public void AlignToByte()
    {
        if (_cached > 0) Write(0, 8 - _cached);
    }

    /// <summary>Replaces byte <paramref name="index"/> (already written), for a header field known only later.</summary>
    public void Patch(int index, byte value) => _bytes[index] = value;

    private void Append(byte b)
    {
        if (ByteCount == _bytes.Length) Array.Resize(ref _bytes, _bytes.Length * 2);
        _bytes[ByteCount++] = b;
    }
}
