namespace MusicGen.Engine.Audio;

/// <summary>The sample formats <see cref="WavFile.Write(string, AudioClip, WavSampleFormat)"/> can produce.</summary>
public enum WavSampleFormat
{
    /// <summary>IEEE 32-bit float: lossless for the engine's output.</summary>
    Float32,

    /// <summary>16-bit integer PCM: half the size, playable everywhere.</summary>
    Pcm16,
}
