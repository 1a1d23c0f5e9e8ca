namespace MusicGen.Engine.Backends;

/// <summary>
/// The polyphase layout of a transposed-convolution weight, prepared once at load. Output j = q·s + p of a
/// ConvTranspose1d with stride s only receives the taps k = p + m·s, from input q − m; gathering those taps per
/// phase turns the transposed convolution into s ordinary stride-1 products over the same input window:
/// y[co, q·s + p] = Σ_ci Σ_m x[ci, q − m] · W[(p, co), (ci, m)].
/// </summary>
public static class ConvTransposeWeights
{
    /// <summary>Input frames each output reads: ⌈K / s⌉.</summary>
    public static int Taps(int kernelSize, int stride) => (kernelSize + stride - 1) / stride;

    /// <summary>Reorders w[Cin, Cout, K] into W[s·Cout, Cin·taps], zero where p + m·s ≥ K.</summary>
    public static float[] ToPolyphase(ReadOnlySpan<float> weight, int inChannels, int outChannels, int kernelSize, int stride)
    {
        if (weight.Length != inChannels * outChannels * kernelSize)
            throw new ArgumentException("weight length does not match [Cin, Cout, K]");
        int taps = Taps(kernelSize, stride);
        var result = new float[stride * outChannels * inChannels * taps];
        for (int p = 0; p < stride; p++)
            for (int co = 0; co < outChannels; co++)
                for (int ci = 0; ci < inChannels; ci++)
                    for (int m = 0; m < taps; m++)
                    {
                        int k = p + m * stride;
                        if (k < kernelSize)
                            result[((p * outChannels + co) * inChannels + ci) * taps + m] = weight[(ci * outChannels + co) * kernelSize + k];
                    }
        return result;
    }
}
