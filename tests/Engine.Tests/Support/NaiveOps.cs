namespace MusicGen.Tests.Support;

/// <summary>
/// Plain, obviously correct implementations (double precision, no tiling, no tricks) that the backends are
/// checked against. They follow the PyTorch definitions the reference uses.
/// </summary>
public static class NaiveOps
{
    public static float[] Linear(float[] x, float[] w, float[]? bias, int m, int n, int k)
    {
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = bias?[j] ?? 0;
                for (int p = 0; p < k; p++) sum += (double)x[i * k + p] * w[j * k + p];
                y[i * n + j] = (float)sum;
            }
        return y;
    }

    /// <summary>
    /// x with every block of 32 values rounded to 8 bits as integer dot products round it: to d · round(x / d) with
    /// d = max|x| / 127, the quotient taken as x · (127 / max|x|) and rounded to nearest even.
    /// </summary>
    public static float[] RoundedToInt8Blocks(float[] x)
    {
        var rounded = new float[x.Length];
        for (int start = 0; start < x.Length; start += 32)
        {
            var block = x.AsSpan(start, Math.Min(32, x.Length - start));
            float max = 0;
            foreach (float v in block) max = Math.Max(max, Math.Abs(v));
            float inverse = max == 0 ? 0 : 127f / max, step = max / 127f;
            for (int i = 0; i < block.Length; i++) rounded[start + i] = step * MathF.Round(block[i] * inverse);
        }
        return rounded;
    }

    public static float[] Conv1d(float[] x, float[] w, float[]? bias, int batch, int cin, int tin, int cout, int kernel, int stride, int dilation)
    {
        int tout = (tin - (kernel - 1) * dilation - 1) / stride + 1;
        var y = new float[batch * cout * tout];
        for (int b = 0; b < batch; b++)
            for (int co = 0; co < cout; co++)
                for (int t = 0; t < tout; t++)
                {
                    double sum = bias?[co] ?? 0;
                    for (int ci = 0; ci < cin; ci++)
                        for (int k = 0; k < kernel; k++)
                            sum += (double)w[(co * cin + ci) * kernel + k] * x[(b * cin + ci) * tin + t * stride + k * dilation];
                    y[(b * cout + co) * tout + t] = (float)sum;
                }
        return y;
    }

    /// <summary>torch ConvTranspose1d, weight [Cin, Cout, K], full output (Tin − 1)·stride + K.</summary>
    public static float[] ConvTranspose1d(float[] x, float[] w, float[]? bias, int batch, int cin, int tin, int cout, int kernel, int stride)
    {
        int full = (tin - 1) * stride + kernel;
        var sum = new double[batch * cout * full];
        for (int b = 0; b < batch; b++)
            for (int ci = 0; ci < cin; ci++)
                for (int t = 0; t < tin; t++)
                    for (int co = 0; co < cout; co++)
                        for (int k = 0; k < kernel; k++)
                            sum[(b * cout + co) * full + t * stride + k] += (double)x[(b * cin + ci) * tin + t] * w[(ci * cout + co) * kernel + k];
        var y = new float[sum.Length];
        for (int i = 0; i < y.Length; i++) y[i] = (float)(sum[i] + (bias?[i / full % cout] ?? 0));
        return y;
    }

    /// <summary>EnCodec's _pad1d in reflect mode, step by step: zero-extend short input, reflect, cut the extension.</summary>
    public static float[] ReflectPad(float[] row, int left, int right)
    {
        int extra = row.Length <= Math.Max(left, right) ? Math.Max(left, right) - row.Length + 1 : 0;
        var extended = row.Concat(new float[extra]).ToArray();
        var padded = new List<float>();
        for (int p = left; p >= 1; p--) padded.Add(extended[p]);
        padded.AddRange(extended);
        for (int p = 1; p <= right; p++) padded.Add(extended[extended.Length - 1 - p]);
        return padded.Take(padded.Count - extra).ToArray();
    }

    public static float[] LayerNorm(float[] x, float[] weight, float[]? bias, int d, double eps)
    {
        var y = new float[x.Length];
        for (int r = 0; r < x.Length / d; r++)
        {
            double mean = 0, variance = 0;
            for (int i = 0; i < d; i++) mean += x[r * d + i];
            mean /= d;
            for (int i = 0; i < d; i++) variance += Math.Pow(x[r * d + i] - mean, 2);
            variance /= d;
            for (int i = 0; i < d; i++) y[r * d + i] = (float)((x[r * d + i] - mean) / Math.Sqrt(variance + eps) * weight[i] + (bias?[i] ?? 0));
        }
        return y;
    }

    public static float[] RmsNorm(float[] x, float[] weight, int d, double eps)
    {
        var y = new float[x.Length];
        for (int r = 0; r < x.Length / d; r++)
        {
            double squares = 0;
            for (int i = 0; i < d; i++) squares += (double)x[r * d + i] * x[r * d + i];
            double inverse = 1 / Math.Sqrt(squares / d + eps);
            for (int i = 0; i < d; i++) y[r * d + i] = (float)(x[r * d + i] * inverse * weight[i]);
        }
        return y;
    }

    public static float[] Softmax(float[] x, int d)
    {
        var y = new float[x.Length];
        for (int r = 0; r < x.Length / d; r++)
        {
            double max = x.Skip(r * d).Take(d).Max(), sum = 0;
            for (int i = 0; i < d; i++) sum += Math.Exp(x[r * d + i] - max);
            for (int i = 0; i < d; i++) y[r * d + i] = (float)(Math.Exp(x[r * d + i] - max) / sum);
        }
        return y;
    }

    /// <summary>
    /// Attention exactly as the reference's eager path: scores (+ bias), masked scores replaced by the most
    /// negative float, softmax, weighted values.
    /// </summary>
    public static float[] Attention(float[] q, float[] k, float[] v, int batch, int queries, int keyRows, int keys, int heads, int headDim,
        double scale, bool causal, int queryOffset, float[]? bias, float[]? keyMask)
    {
        int width = heads * headDim;
        var output = new float[batch * queries * width];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < queries; i++)
                {
                    int visible = causal ? Math.Min(keys, queryOffset + i + 1) : keys;
                    var scores = new double[visible];
                    for (int j = 0; j < visible; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < headDim; e++)
                            s += (double)q[(b * queries + i) * width + h * headDim + e] * k[(b * keyRows + j) * width + h * headDim + e];
                        s *= scale;
                        if (bias is not null) s += bias[(h * queries + i) * keys + j];
                        if (keyMask is not null && keyMask[b * keys + j] == 0) s = float.MinValue;
                        scores[j] = s;
                    }
                    double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                    for (int e = 0; e < headDim; e++)
                    {
                        double value = 0;
                        for (int j = 0; j < visible; j++) value += Math.Exp(scores[j] - max) / sum * v[(b * keyRows + j) * width + h * headDim + e];
                        output[(b * queries + i) * width + h * headDim + e] = (float)value;
                    }
                }
        return output;
    }

    /// <summary>A torch LSTM layer over x [B, T, In] with weights [4H, In], [4H, H] and biases [4H] (gate order i, f, g, o).</summary>
    public static float[] Lstm(float[] x, float[] wih, float[] whh, float[] bih, float[] bhh, int batch, int steps, int input, int hidden)
    {
        var output = new float[batch * steps * hidden];
        for (int b = 0; b < batch; b++)
        {
            var h = new double[hidden];
            var c = new double[hidden];
            for (int t = 0; t < steps; t++)
            {
                var gates = new double[4 * hidden];
                for (int g = 0; g < 4 * hidden; g++)
                {
                    double sum = bih[g] + bhh[g];
                    for (int i = 0; i < input; i++) sum += (double)wih[g * input + i] * x[(b * steps + t) * input + i];
                    for (int i = 0; i < hidden; i++) sum += whh[g * hidden + i] * h[i];
                    gates[g] = sum;
                }
                for (int j = 0; j < hidden; j++)
                {
                    double ig = Sigmoid(gates[j]), fg = Sigmoid(gates[hidden + j]), gg = Math.Tanh(gates[2 * hidden + j]), og = Sigmoid(gates[3 * hidden + j]);
                    c[j] = fg * c[j] + ig * gg;
                    h[j] = og * Math.Tanh(c[j]);
                    output[(b * steps + t) * hidden + j] = (float)h[j];
                }
            }
        }
        return output;
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>
    /// Checks that <paramref name="chosen"/> is a nearest codebook row to x[row]: its exact distance is the
    /// smallest, up to the float32 rounding of |x|² − 2x·e + |e|², the form the reference (and the backends)
    /// evaluate, which can swap two rows whose distances differ by less than that.
    /// </summary>
    public static void AssertNearest(float[] x, int row, float[] codebook, int size, int d, int chosen)
    {
        double Distance(int c)
        {
            double distance = 0;
            for (int e = 0; e < d; e++) distance += Math.Pow((double)x[row * d + e] - codebook[c * d + e], 2);
            return distance;
        }
        double SquaredNorm(ReadOnlySpan<float> v)
        {
            double sum = 0;
            foreach (float value in v) sum += (double)value * value;
            return sum;
        }
        int best = Enumerable.Range(0, size).MinBy(Distance);
        double rounding = 1e-5 * (1 + SquaredNorm(x.AsSpan(row * d, d)) + SquaredNorm(codebook.AsSpan(best * d, d)));
        Assert.True((uint)chosen < (uint)size, $"code {chosen} outside the codebook");
        Assert.True(Distance(chosen) <= Distance(best) + rounding,
            $"row {row}: code {chosen} is at {Distance(chosen)}, code {best} at {Distance(best)}");
    }
}
