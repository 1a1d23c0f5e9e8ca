namespace MusicGen.Engine.Audio;

/// <summary>The wFormatTag values of a fmt chunk this reader knows, and names for the common unsupported ones.</summary>
public static class WavFormatTag
{
    public const ushort Pcm = 0x0001;
    public const ushort IeeeFloat = 0x0003;
    public const ushort Extensible = 0xFFFE;

    /// <summary>What the reader accepts, for error messages.</summary>
    public const string Supported =
        "supported are integer PCM (8, 16, 24 or 32 bits), IEEE float (32 or 64 bits), " +
        "and WAVE_FORMAT_EXTENSIBLE with a PCM or IEEE float sub-format";

    /// <summary>"0x0002 (Microsoft ADPCM)", or the bare hex for a tag without a well-known name.</summary>
    public static string Describe(ushort tag)
    {
        string? name = tag switch
        {
            Pcm => "PCM",
            0x0002 => "Microsoft ADPCM",
            IeeeFloat => "IEEE float",
            0x0006 => "A-law",
            0x0007 => "µ-law",
            0x0011 => "IMA ADPCM",
            0x0031 => "GSM 6.10",
            0x0050 => "MPEG",
            0x0055 => "MPEG Layer III (MP3)",
            0x0161 => "Windows Media Audio",
            0x2000 => "Dolby AC-3",
            Extensible => "WAVE_FORMAT_EXTENSIBLE",
            _ => null,
        };
        return name is null ? $"0x{tag:X4}" : $"0x{tag:X4} ({name})";
    }
}
