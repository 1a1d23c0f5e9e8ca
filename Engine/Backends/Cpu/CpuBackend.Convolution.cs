using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>Output columns gathered per work item: sized so the gathered window stays in L2.</summary>
    private static int ColumnChunk(int rowLength) => Math.Clamp(32_768 / Math.Max(1, rowLength), 8, 256);

    public void Conv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = weight.Dim(0), kernel = weight.Dim(2), tout = y.Dim(2);
        Check.Shape(weight.Dim(1) == cin && y.Dim(0) == batch && y.Dim(1) == cout
            && tout == (tin - (kernel - 1) * dilation - 1) / stride + 1 && (bias is null || bias.Length == cout), "Conv1d", x, weight, y);
        var xs = Array(x, out int xo);
        var ws = Array(weight, out int wo);
        var ys = Array(y, out int yo);
        int rowLength = cin * kernel;
        int chunk = ColumnChunk(rowLength);
        int chunks = (tout + chunk - 1) / chunk;
        CpuParallel.For(batch * chunks, (long)chunk * rowLength * cout, (start, end) =>
        {
            var columns = Scratch.Get(chunk * rowLength);
            for (int item = start; item < end; item++)
            {
                int b = item / chunks, t0 = item % chunks * chunk, count = Math.Min(chunk, tout - t0);
                int xb = xo + b * cin * tin;
                for (int t = 0; t < count; t++)
                {
                    int first = (t0 + t) * stride;
                    for (int ci = 0; ci < cin; ci++)
                    {
                        int source = xb + ci * tin + first;
                        int target = t * rowLength + ci * kernel;
                        for (int k = 0; k < kernel; k++) columns[target + k] = xs[source + k * dilation];
                    }
                }
                int yb = yo + b * cout * tout + t0;
                Gemm.MultiplyTransposed(ws.AsSpan(wo), rowLength, columns, rowLength, ys.AsSpan(yb), tout, cout, count, rowLength);
                AddChannelBias(bias, ys, yb, tout, cout, count);
            }
        });
    }

    public void ConvTranspose1d(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = y.Dim(1), tout = y.Dim(2);
        int taps = ConvTransposeWeights.Taps(kernelSize, stride);
        Check.Shape(y.Dim(0) == batch && polyphaseWeight.Length == (long)stride * cout * cin * taps
            && trimLeft + tout <= (tin - 1) * stride + kernelSize && (bias is null || bias.Length == cout), "ConvTranspose1d", x, polyphaseWeight, y);
        var xs = Array(x, out int xo);
        var ws = Array(polyphaseWeight, out int wo);
        var ys = Array(y, out int yo);
        var bs = bias is null ? null : Array(bias, out _);
        int bo = bias is null ? 0 : checked((int)bias.Offset);
        int rowLength = cin * taps;
        int phases = stride * cout;
        int qFirst = trimLeft / stride, qEnd = (trimLeft + tout - 1) / stride + 1;
        int chunk = ColumnChunk(rowLength);
        int chunks = (qEnd - qFirst + chunk - 1) / chunk;
        CpuParallel.For(batch * chunks, (long)chunk * rowLength * phases, (start, end) =>
        {
            var scratch = Scratch.Get(chunk * rowLength + phases * chunk);
            var columns = scratch.AsSpan(0, chunk * rowLength);
            var products = scratch.AsSpan(chunk * rowLength, phases * chunk);
            for (int item = start; item < end; item++)
            {
                int b = item / chunks, q0 = qFirst + item % chunks * chunk, count = Math.Min(chunk, qEnd - q0);
                int xb = xo + b * cin * tin;
                for (int q = 0; q < count; q++)
                    for (int ci = 0; ci < cin; ci++)
                        for (int m = 0; m < taps; m++)
                        {
                            int t = q0 + q - m;
                            columns[q * rowLength + ci * taps + m] = (uint)t < (uint)tin ? xs[xb + ci * tin + t] : 0f;
                        }
                Gemm.MultiplyTransposed(ws.AsSpan(wo), rowLength, columns, rowLength, products, count, phases, count, rowLength);
                int yb = yo + b * cout * tout;
                for (int p = 0; p < stride; p++)
                    for (int co = 0; co < cout; co++)
                    {
                        float channelBias = bs is null ? 0f : bs[bo + co];
                        var row = products.Slice((p * cout + co) * count, count);
                        for (int q = 0; q < count; q++)
                        {
                            int j = (q0 + q) * stride + p - trimLeft;
                            if ((uint)j < (uint)tout) ys[yb + co * tout + j] = row[q] + channelBias;
                        }
                    }
            }
        });
    }

    private static void AddChannelBias(Tensor? bias, float[] ys, int yb, int rowStride, int channels, int count)
    {
        if (bias is null) return;
        var b = Span(bias);
        for (int c = 0; c < channels; c++) TensorPrimitives.Add(ys.AsSpan(yb + c * rowStride, count), b[c], ys.AsSpan(yb + c * rowStride, count));
    }

    public void Pad1d(Tensor x, Tensor y, int left, int right, PadMode mode)
    {
        int length = x.Dim(-1), padded = length + left + right;
        int rows = length == 0 ? 0 : checked((int)(x.Length / length));
        Check.Shape(y.Dim(-1) == padded && y.Length == (long)rows * padded && left >= 0 && right >= 0, "Pad1d", x, y);
        var xs = Span(x);
        var ys = Span(y);
        for (int r = 0; r < rows; r++)
        {
            var source = xs.Slice(r * length, length);
            var target = ys.Slice(r * padded, padded);
            for (int p = 0; p < padded; p++)
            {
                int index = PadIndex.Source(p, length, left, right, mode);
                target[p] = index < 0 ? 0f : source[index];
            }
        }
    }
}

/// <summary>
/// Where a padded position reads from, shared by every backend: −1 for a zero. Reflection follows EnCodec's
/// _pad1d: when the input is not longer than the padding, it is first extended with zeros on the right so the
/// reflection is defined, and that extension is cut off again at the end.
/// </summary>
public static class PadIndex
{
    public static int Source(int p, int length, int left, int right, PadMode mode)
    {
        if (mode == PadMode.Zero)
        {
            int i = p - left;
            return (uint)i < (uint)length ? i : -1;
        }
        int extended = length + Math.Max(0, Math.Max(left, right) - length + 1);
        int source = p < left ? left - p
            : p < left + extended ? p - left
            : extended - 2 - (p - left - extended);
        return source < length ? source : -1;
    }
}
