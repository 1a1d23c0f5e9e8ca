using System.Buffers.Binary;
using System.Text;

namespace MusicGen.Tests.Audio;

/// <summary>
/// Assembles WAV bytes chunk by chunk, independently of the engine's writer, so reader tests can produce any
/// layout and encoding, well-formed or not.
/// </summary>
public sealed class WavBuilder
{
    private readonly List<byte> _body = [];

    /// <summary>The first four bytes; "RIFF" for a WAV file.</summary>
    public string Magic { get; init; } = "RIFF";

    /// <summary>The RIFF form type; "WAVE" for a WAV file.</summary>
    public string Form { get; init; } = "WAVE";

    /// <summary>The RIFF size field; by default the true size of everything after it.</summary>
    public uint? RiffSize { get; init; }

    /// <summary>Appends a chunk, with a pad byte when the body is odd-sized; <paramref name="declaredSize"/> overrides the size field.</summary>
    public WavBuilder Chunk(string id, byte[] body, uint? declaredSize = null)
    {
        _body.AddRange(Encoding.ASCII.GetBytes(id));
        _body.AddRange(UInt32(declaredSize ?? (uint)body.Length));
        _body.AddRange(body);
        if (body.Length % 2 == 1) _body.Add(0);
        return this;
    }

    public WavBuilder Fmt(ushort tag, int channels, int sampleRate, int bits, int? blockAlign = null) =>
        Chunk("fmt ", FormatBody(tag, channels, sampleRate, bits, blockAlign));

    public WavBuilder Data(byte[] samples, uint? declaredSize = null) => Chunk("data", samples, declaredSize);

    /// <summary>Appends raw bytes, such as a chunk header whose body is missing.</summary>
    public WavBuilder Raw(byte[] bytes)
    {
        _body.AddRange(bytes);
        return this;
    }

    public byte[] ToArray()
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(Magic));
        bytes.AddRange(UInt32(RiffSize ?? (uint)(4 + _body.Count)));
        bytes.AddRange(Encoding.ASCII.GetBytes(Form));
        bytes.AddRange(_body);
        return [.. bytes];
    }

    public MemoryStream ToStream() => new(ToArray());

    /// <summary>A 16-byte WAVEFORMAT body; the block align is channels × bytes per sample unless given.</summary>
    public static byte[] FormatBody(ushort tag, int channels, int sampleRate, int bits, int? blockAlign = null)
    {
        int align = blockAlign ?? channels * (bits / 8);
        return [.. UInt16(tag), .. UInt16((ushort)channels), .. UInt32((uint)sampleRate),
            .. UInt32((uint)(sampleRate * align)), .. UInt16((ushort)align), .. UInt16((ushort)bits)];
    }

    /// <summary>A 40-byte WAVEFORMATEXTENSIBLE body whose sub-format is the standard GUID for <paramref name="subTag"/>.</summary>
    public static byte[] ExtensibleFormatBody(ushort subTag, int channels, int sampleRate, int bits) =>
        ExtensibleFormatBody(new Guid($"{subTag:X8}-0000-0010-8000-00AA00389B71"), channels, sampleRate, bits);

    public static byte[] ExtensibleFormatBody(Guid subFormat, int channels, int sampleRate, int bits) =>
        [.. FormatBody(0xFFFE, channels, sampleRate, bits), .. UInt16(22), .. UInt16((ushort)bits), .. UInt32(0),
            .. subFormat.ToByteArray()];

    public static byte[] UInt16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        return bytes;
    }

    public static byte[] UInt32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }
}
