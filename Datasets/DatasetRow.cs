namespace MusicGen.Datasets;

/// <summary>
/// One encoded clip: its manifest entry and its codes <c>[Rows, Frames]</c> (row c·K + k is codebook k of audio
/// channel c; a mono codec has one row per codebook), with the seconds of audio they code.
/// </summary>
public sealed record DatasetRow(ManifestEntry Entry, int Rows, int Frames, short[] Codes, double Seconds)
{
    /// <summary>
    /// The codes interleaved frame by frame and shifted past a text vocabulary, as Mixture-of-Transformers training
    /// takes them: <c>codes.transpose(1, 0).reshape(-1) + offset</c>.
    /// </summary>
    public int[] MotTokens(int offset)
    {
        var tokens = new int[Codes.Length];
        for (int f = 0; f < Frames; f++)
            for (int k = 0; k < Rows; k++)
                tokens[f * Rows + k] = Codes[k * Frames + f] + offset;
        return tokens;
    }
}
