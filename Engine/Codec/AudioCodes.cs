using MusicGen.Loaders;

namespace MusicGen.Engine.Codec;

/// <summary>
/// EnCodec codes of one piece of audio: Values[(c · Codebooks + k) · Frames + f] for channel c, codebook k and
/// frame f, with what is needed to decode them back to the original length.
/// </summary>
public sealed record AudioCodes(int Channels, int Codebooks, int Frames, int[] Values, int SampleRate, int FrameRate, int? Samples)
{
    public void Validate(string where)
    {
        if (Channels < 1 || Codebooks < 1 || Frames < 0)
            throw new MusicGenException($"{where}: codes of shape [{Channels}, {Codebooks}, {Frames}] are not valid");
        if (Values.Length != Channels * Codebooks * Frames)
            throw new MusicGenException($"{where}: {Values.Length} codes do not fill [{Channels}, {Codebooks}, {Frames}]");
        if (SampleRate <= 0 || FrameRate <= 0) throw new MusicGenException($"{where}: sampling and frame rates must be positive");
        if (Samples is < 0) throw new MusicGenException($"{where}: negative sample count");
    }

    /// <summary>The codes of one channel, [K, F].</summary>
    public ReadOnlySpan<int> Channel(int c) => Values.AsSpan(c * Codebooks * Frames, Codebooks * Frames);
}
