namespace MusicGen.Engine.Audio;

/// <summary>How the samples of a WAV data chunk are stored, once WAVE_FORMAT_EXTENSIBLE is resolved.</summary>
public enum WavEncoding
{
    /// <summary>Integer PCM: unsigned for 8 bits, signed two's complement otherwise.</summary>
    Integer,

    /// <summary>IEEE float.</summary>
    Float,
}
