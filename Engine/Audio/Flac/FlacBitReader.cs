using MusicGen.Loaders;

namespace MusicGen.Engine.Audio.Flac;

/// <summary>
/// Reads a FLAC stream bit by bit, most significant first, from a buffered stream, keeping the frame checksums of
/// every byte taken in. Bytes enter only as bits are asked for, so at a byte boundary the checksums cover exactly
/// what was read. The end of the stream is a <see cref="MusicGenException"/> saying that the file is truncated.
/// </summary>
internal sealed class FlacBitReader(Stream stream, string displayName)
{
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _position, _filled;
    private ulong _cache;
    private int _cached;

    public byte Crc8 { get; set; }
    public ushort Crc16 { get; set; }

    /// <summary>Bytes taken from the stream so far.</summary>
    public long BytesRead { get; private set; }

    public bool IsByteAligned => _cached == 0;

    /// <summary>Whether the stream has no byte left (only at a byte boundary).</summary>
    public bool AtEnd => _cached == 0 && !Fill();

    public uint ReadBits(int count)
    {
        if (count == 0) return 0;
        while (_cached < count) TakeByte();
        _cached -= count;
        return (uint)(_cache >> _cached) & (uint)((1UL << count) - 1);
    }

    public int ReadSigned(int count)
    {
        if (count == 0) return 0;
        uint value = ReadBits(count);
        int shift = 32 - count;
        return (int)(value << shift) >> shift;
    }

    /// <summary>Up to 33 bits (a side channel of 32-bit audio), sign-extended.</summary>
    public long ReadSignedLong(int count)
    {
        if (count <= 32) return ReadSigned(count);
        long high = ReadSigned(count - 32);
        return high << 32 | ReadBits(32);
    }

    /// <summary>Zeros before the next one bit; at most <paramref name="limit"/>, beyond which the data is corrupt.</summary>
    public uint ReadUnary(uint limit)
    {
        uint zeros = 0;
        while (true)
        {
            if (_cached == 0) TakeByte();
            ulong bits = _cache & ((1UL << _cached) - 1);
            if (bits != 0)
            {
                int leading = 63 - System.Numerics.BitOperations.Log2(bits); // zeros above the highest one, in 64 bits
                int inCache = leading - (64 - _cached);
                zeros += (uint)inCache;
                _cached -= inCache + 1;
                if (zeros > limit) throw Corrupt("a residual is out of range");
                return zeros;
            }
            zeros += (uint)_cached;
            _cached = 0;
            if (zeros > limit) throw Corrupt("a residual is out of range");
        }
    }

    public void AlignToByte() => _cached -= _cached % 8;

    public void ReadBytes(Span<byte> target)
    {
        for (int i = 0; i < target.Length; i++) target[i] = (byte)ReadBits(8);
    }

    /// <summary>Skips whole bytes (at a byte boundary), without checksums: metadata blocks.</summary>
    public void SkipBytes(long count)
    {
        for (; count > 0 && _position < _filled; count--, _position++, BytesRead++) { }
        if (count == 0) return;
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (count > remaining) throw Truncated();
            stream.Seek(count, SeekOrigin.Current);
            BytesRead += count;
            return;
        }
        for (; count > 0; count--) ReadBits(8);
    }

    public MusicGenException Corrupt(string what) => new($"{displayName}: not a valid FLAC stream: {what} (at byte {BytesRead})");

    private MusicGenException Truncated() => new($"{displayName}: truncated: the FLAC stream ends in the middle of a frame or block (after {BytesRead} bytes)");

    private void TakeByte()
    {
        if (!Fill()) throw Truncated();
        byte b = _buffer[_position++];
        BytesRead++;
        Crc8 = FlacCrc.Next8(Crc8, b);
        Crc16 = FlacCrc.Next16(Crc16, b);
        _cache = _cache << 8 | b;
        _cached += 8;
    }

    private bool Fill()
    {
        if (_position < _filled) return true;
        try
        {
            (_filled, _position) = (stream.Read(_buffer), 0);
        }
        catch (IOException e)
        {
            throw new MusicGenException($"{displayName}: read failed: {e.Message}", e);
        }
        return _filled > 0;
    }
}
