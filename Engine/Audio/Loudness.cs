namespace MusicGen.Engine.Audio;

/// <summary>
/// Integrated loudness in LUFS by ITU-R BS.1770-4: each channel K-weighted (a high-shelf pre-filter and the RLB
/// high-pass, their coefficients derived for the clip's rate as libebur128 and ffmpeg's ebur128 filter derive
/// them), mean squares over 400 ms blocks every 100 ms, summed over the channels (all weighted 1, as for mono and
/// stereo), then the absolute gate at −70 LUFS and the relative gate 10 LU below the loudness of what passed it.
/// </summary>
public static class Loudness
{
    private const double AbsoluteGate = -70, RelativeGate = -10, Offset = -0.691;

    /// <summary>The clip's integrated loudness; negative infinity when no 400 ms block passes the gates (silence, or shorter than a block).</summary>
    public static double Integrated(AudioClip clip)
    {
        int hop = (int)Math.Round(clip.SampleRate / 10.0);
        int segments = clip.Length / hop;
        if (segments < 4) return double.NegativeInfinity;
        // Sum over the channels of each 100 ms segment's K-weighted energy; a block is four consecutive segments.
        var energy = new double[segments];
        foreach (float[] channel in clip.Channels) AddKWeightedEnergy(channel, clip.SampleRate, hop, energy);
        int blocks = segments - 3;
        var power = new double[blocks];
        for (int j = 0; j < blocks; j++) power[j] = (energy[j] + energy[j + 1] + energy[j + 2] + energy[j + 3]) / (4.0 * hop);

        double gate = GatedMean(power, double.NegativeInfinity);
        if (double.IsNaN(gate)) return double.NegativeInfinity;
        double integrated = GatedMean(power, ToLufs(gate) + RelativeGate);
        return double.IsNaN(integrated) ? double.NegativeInfinity : ToLufs(integrated);
    }

    private static double ToLufs(double power) => Offset + 10 * Math.Log10(power);

    /// <summary>The mean power of the blocks above the absolute gate and <paramref name="relativeGate"/> (LUFS); NaN when none is.</summary>
    private static double GatedMean(double[] power, double relativeGate)
    {
        double sum = 0;
        int count = 0;
        foreach (double p in power)
        {
            double lufs = ToLufs(p);
            if (lufs > AbsoluteGate && lufs > relativeGate) (sum, count) = (sum + p, count + 1);
        }
        return count == 0 ? double.NaN : sum / count;
    }

    /// <summary>Adds the squares of the K-weighted channel, per segment of <paramref name="hop"/> samples, to <paramref name="energy"/>.</summary>
    private static void AddKWeightedEnergy(float[] channel, int rate, int hop, double[] energy)
    {
        var (shelfB, shelfA) = HighShelf(rate);
        var (passB, passA) = HighPass(rate);
        double s1 = 0, s2 = 0, p1 = 0, p2 = 0; // transposed direct form II states
        int used = energy.Length * hop;
        for (int i = 0; i < used; i++)
        {
            double x = channel[i];
            double y = shelfB[0] * x + s1;
            s1 = shelfB[1] * x - shelfA[1] * y + s2;
            s2 = shelfB[2] * x - shelfA[2] * y;
            double z = passB[0] * y + p1;
            p1 = passB[1] * y - passA[1] * z + p2;
            p2 = passB[2] * y - passA[2] * z;
            energy[i / hop] += z * z;
        }
    }

    /// <summary>The pre-filter: a high shelf of about +4 dB above 1.7 kHz (the head's acoustic effect).</summary>
    private static (double[] B, double[] A) HighShelf(int rate)
    {
        const double f0 = 1681.974450955533, gain = 3.999843853973347, q = 0.7071752369554196;
        double k = Math.Tan(Math.PI * f0 / rate), vh = Math.Pow(10, gain / 20), vb = Math.Pow(vh, 0.4996667741545416);
        double a0 = 1 + k / q + k * k;
        return ([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0],
                [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]);
    }

    /// <summary>The RLB weighting: a second-order high-pass at about 38 Hz.</summary>
    private static (double[] B, double[] A) HighPass(int rate)
    {
        const double f0 = 38.13547087602444, q = 0.5003270373238773;
        double k = Math.Tan(Math.PI * f0 / rate), a0 = 1 + k / q + k * k;
        return ([1, -2, 1], [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]);
    }
}
