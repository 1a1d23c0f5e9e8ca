using System.Buffers.Binary;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>Parses and validates the body of a fmt chunk (WAVEFORMATEX, possibly WAVEFORMATEXTENSIBLE).</summary>
public static class WavFormatChunk
{
    public const int BasicSize = 16;
    public const int ExtensibleSize = 40;

    /// <summary>
    /// Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID of the form {0000xxxx-0000-0010-8000-00AA00389B71},
    /// whose first two bytes are the plain format tag.
    /// </summary>
    private static ReadOnlySpan<byte> SubFormatGuidTail =>
        [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    /// <param name="body">The chunk body, at least its first <see cref="ExtensibleSize"/> bytes when it has that many.</param>
    /// <param name="displayName">Names the file in error messages.</param>
    public static WavFormat Parse(ReadOnlySpan<byte> body, string displayName)
    {
        if (body.Length < BasicSize)
            throw new MusicGenException(
                $"{displayName}: truncated header: the fmt chunk has {body.Length} bytes, fewer than the {BasicSize} every WAV format needs");

        ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(body);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
        uint sampleRate = BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(body[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);

        if (channels == 0) throw new MusicGenException($"{displayName}: the fmt chunk declares zero channels");
        if (sampleRate == 0) throw new MusicGenException($"{displayName}: the fmt chunk declares a sample rate of zero");
        if (sampleRate > int.MaxValue)
            throw new MusicGenException($"{displayName}: the fmt chunk declares an implausible sample rate of {sampleRate} Hz");

        WavEncoding encoding = ResolveEncoding(tag, body, displayName);
        CheckBitDepth(encoding, bits, displayName);
        var format = new WavFormat(encoding, channels, (int)sampleRate, bits);
        if (blockAlign != format.BlockAlign)
            throw new MusicGenException(
                $"{displayName}: the fmt chunk's block align of {blockAlign} bytes does not match {channels} channel(s) × {bits} bits (expected {format.BlockAlign})");
        return format;
    }

    private static WavEncoding ResolveEncoding(ushort tag, ReadOnlySpan<byte> body, string displayName)
    {
        switch (tag)
        {
            case WavFormatTag.Pcm: return WavEncoding.Integer;
            case WavFormatTag.IeeeFloat: return WavEncoding.Float;
            case WavFormatTag.Extensible: break;
            default:
                throw new MusicGenException(
                    $"{displayName}: unsupported encoding: format tag {WavFormatTag.Describe(tag)}; {WavFormatTag.Supported}");
        }

        if (body.Length < ExtensibleSize)
            throw new MusicGenException(
                $"{displayName}: truncated header: the WAVE_FORMAT_EXTENSIBLE fmt chunk has {body.Length} bytes, fewer than the {ExtensibleSize} it needs");
        // The valid-bits field is ignored: samples are left-justified in their container, so scaling by the container width is right.
        ReadOnlySpan<byte> subFormat = body.Slice(24, 16);
        if (!subFormat[2..].SequenceEqual(SubFormatGuidTail))
            throw new MusicGenException(
                $"{displayName}: unsupported encoding: WAVE_FORMAT_EXTENSIBLE with sub-format {{{new Guid(subFormat)}}}; {WavFormatTag.Supported}");
        ushort subTag = BinaryPrimitives.ReadUInt16LittleEndian(subFormat);
        return subTag switch
        {
            WavFormatTag.Pcm => WavEncoding.Integer,
            WavFormatTag.IeeeFloat => WavEncoding.Float,
            _ => throw new MusicGenException(
                $"{displayName}: unsupported encoding: WAVE_FORMAT_EXTENSIBLE with sub-format {WavFormatTag.Describe(subTag)}; {WavFormatTag.Supported}"),
        };
    }

    private static void CheckBitDepth(WavEncoding encoding, int bits, string displayName)
    {
        bool supported = encoding == WavEncoding.Integer ? bits is 8 or 16 or 24 or 32 : bits is 32 or 64;
        if (!supported)
            throw new MusicGenException(encoding == WavEncoding.Integer
                ? $"{displayName}: unsupported encoding: {bits}-bit integer PCM; {WavFormatTag.Supported}"
                : $"{displayName}: unsupported encoding: {bits}-bit IEEE float; {WavFormatTag.Supported}");
    }
}
