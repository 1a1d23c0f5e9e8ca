namespace MusicGen.Engine.Text;

/// <summary>
/// Reads the protobuf wire format field by field: just enough for the SentencePiece model file.
/// Every malformed input ends in an <see cref="InvalidDataException"/> (never an index error), so callers
/// can turn it into a message that names the file.
/// </summary>
internal ref struct ProtobufReader
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtobufReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    private readonly bool AtEnd => _position >= _data.Length;

    /// <summary>Reads the next field key; returns false at the end of the message.</summary>
    public bool TryReadTag(out int fieldNumber, out int wireType)
    {
        fieldNumber = 0;
        wireType = 0;
        if (AtEnd) return false;
        ulong key = ReadVarint();
        fieldNumber = (int)Math.Min(key >> 3, int.MaxValue);
        wireType = (int)(key & 7);
        if (fieldNumber == 0) throw new InvalidDataException($"field number 0 at byte {_position}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (AtEnd) throw new InvalidDataException("the data ends inside a varint");
            byte b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException($"a varint longer than 10 bytes ends at byte {_position}");
    }

    public bool ReadBool() => ReadVarint() != 0;

    /// <summary>An int32/enum field: negative values are sign-extended to 64 bits on the wire.</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    private uint ReadFixed32()
    {
        if (_data.Length - _position < 4) throw new InvalidDataException("the data ends inside a fixed32 field");
        uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_data.Slice(_position, 4));
        _position += 4;
        return value;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
            throw new InvalidDataException($"a field of {length} bytes at byte {_position} runs past the end of the data ({_data.Length} bytes)");
        var value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    /// <summary>Reads a string field, rejecting bytes that are not UTF-8.</summary>
    public string ReadString()
    {
        var bytes = ReadLengthDelimited();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new InvalidDataException("a string field is not valid UTF-8", e);
        }
    }

    /// <summary>Fails unless a field was written with the wire type its schema gives it.</summary>
    public readonly void Expect(int actualWireType, int expectedWireType)
    {
        if (actualWireType != expectedWireType)
            throw new InvalidDataException($"wire type {actualWireType} where {expectedWireType} was expected, before byte {_position}");
    }

    public void SkipField(int wireType)
    {
        switch (wireType)
        {
            case WireVarint: ReadVarint(); break;
            case WireFixed64: Skip(8); break;
            case WireLengthDelimited: ReadLengthDelimited(); break;
            case WireFixed32: Skip(4); break;
            default: throw new InvalidDataException($"unsupported wire type {wireType} before byte {_position}");
        }
    }

    private void Skip(int count)
    {
        if (_data.Length - _position < count) throw new InvalidDataException("the data ends inside a fixed-size field");
        _position += count;
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
