namespace MusicGen.Engine.Audio;

/// <summary>
/// The chroma filter bank of transformers' <c>chroma_filter_bank</c> (librosa's construction) with the arguments
/// MusicgenMelodyFeatureExtractor gives it: tuning 0, L2-normalized columns, Gaussian octave weighting centred on
/// octave 5 with half-width 2, starting at C. Built in float64 like numpy, then rounded to float32 as the
/// extractor's <c>torch.from_numpy(...).float()</c> does.
/// </summary>
public static class ChromaFilterBank
{
    private const double OctaveWeightingCentre = 5.0, OctaveWeightingHalfWidth = 2.0;

    /// <summary>Filters [numChroma, nFft/2 + 1], row-major: row c weights every spectrogram bin for pitch class c (C first).</summary>
    public static float[] Create(int sampleRate, int nFft, int numChroma)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(nFft, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numChroma);

        // Bin k's pitch in chroma bins above A0 (27.5 Hz = 440/16): numChroma · log2(f_k / 27.5). The 0 Hz bin is
        // given a made-up pitch 1.5 octaves below bin 1, so its chroma is broad and rotated half-way.
        double step = (double)sampleRate / nFft;
        var pitch = new double[nFft];
        for (int k = 1; k < nFft; k++) pitch[k] = numChroma * Math.Log2(k * step / (440.0 / 16));
        pitch[0] = pitch[1] - 1.5 * numChroma;

        var binWidth = new double[nFft];
        for (int k = 0; k < nFft - 1; k++) binWidth[k] = Math.Max(pitch[k + 1] - pitch[k], 1.0);
        binWidth[nFft - 1] = 1;

        double half = Math.Round(numChroma / 2.0, MidpointRounding.ToEven);
        var filters = new double[numChroma, nFft];
        for (int c = 0; c < numChroma; c++)
            for (int k = 0; k < nFft; k++)
            {
                // Distance from pitch class c, wrapped into [−half, numChroma − half) by numpy's remainder (the
                // sign of the divisor), which the offset of 10 · numChroma rarely needs.
                double wrapped = (pitch[k] - c + half + 10 * numChroma) % numChroma;
                if (wrapped < 0) wrapped += numChroma;
                double distance = wrapped - half;
                double scaled = 2 * distance / binWidth[k];
                filters[c, k] = Math.Exp(-0.5 * (scaled * scaled));
            }

        int columns = nFft / 2 + 1;
        var bank = new float[numChroma * columns];
        int rotation = 3 * (numChroma / 12); // librosa starts at A; rolling by −3 starts at C
        for (int k = 0; k < columns; k++)
        {
            double sumOfSquares = 0;
            for (int c = 0; c < numChroma; c++) sumOfSquares += filters[c, k] * filters[c, k];
            double norm = Math.Sqrt(sumOfSquares);
            double octave = (pitch[k] / numChroma - OctaveWeightingCentre) / OctaveWeightingHalfWidth;
            double weight = Math.Exp(-0.5 * (octave * octave));
            for (int c = 0; c < numChroma; c++)
            {
                int row = ((c - rotation) % numChroma + numChroma) % numChroma;
                bank[row * columns + k] = (float)(filters[c, k] / norm * weight);
            }
        }
        return bank;
    }
}
