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

    /// <summary>Throws unless every code is an entry of a codebook of <paramref name="codebookSize"/>, naming the first that is not.</summary>
    public void RequireWithin(int codebookSize)
    {
        for (int i = 0; i < Values.Length; i++)
            if ((uint)Values[i] >= (uint)codebookSize)
            {
                int frame = i % Frames, codebook = i / Frames % Codebooks, channel = i / (Frames * Codebooks);
                throw new MusicGenException($"code {Values[i]} at channel {channel}, codebook {codebook}, frame {frame} is outside the codebook (0 to {codebookSize - 1})");
            }
    }

    /// <summary>The codes of one channel, [K, F].</summary>
    public ReadOnlySpan<int> Channel(int c) => Values.AsSpan(c * Codebooks * Frames, Codebooks * Frames);
}
