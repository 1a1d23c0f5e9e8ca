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
        OperationContracts.Conv1d(x, weight, bias, y, stride, dilation);
        int rowLength = cin * kernel, chunk = ColumnChunk(rowLength), chunks = (tout + chunk - 1) / chunk;
        var job = new ConvolutionJob(Array(x, out int xo), xo, Array(weight, out int wo), wo, Array(y, out int yo), yo,
            bias is null ? null : Array(bias, out _), bias is null ? 0 : checked((int)bias.Offset),
            cin, tin, cout, tout, kernel, stride, dilation, rowLength, chunk, chunks);
        CpuParallel.For(batch * chunks, (long)chunk * rowLength * cout, job, static (in s, start, end) =>
        {
            var columns = Scratch.Get(s.Chunk * s.RowLength);
            for (int item = start; item < end; item++)
            {
                int b = item / s.Chunks, t0 = item % s.Chunks * s.Chunk, count = Math.Min(s.Chunk, s.OutLength - t0);
                int xb = s.XOffset + b * s.InChannels * s.InLength;
                for (int t = 0; t < count; t++)
                {
                    int first = (t0 + t) * s.Stride;
                    for (int ci = 0; ci < s.InChannels; ci++)
                    {
                        int source = xb + ci * s.InLength + first, target = t * s.RowLength + ci * s.Kernel;
                        for (int k = 0; k < s.Kernel; k++) columns[target + k] = s.X[source + k * s.Dilation];
                    }
                }
                int yb = s.YOffset + b * s.OutChannels * s.OutLength + t0;
                Gemm.MultiplyTransposed(s.W.AsSpan(s.WOffset), s.RowLength, columns, s.RowLength, s.Y.AsSpan(yb), s.OutLength, s.OutChannels, count, s.RowLength);
                if (s.Bias is not null)
                    for (int c = 0; c < s.OutChannels; c++)
                        TensorPrimitives.Add(s.Y.AsSpan(yb + c * s.OutLength, count), s.Bias[s.BiasOffset + c], s.Y.AsSpan(yb + c * s.OutLength, count));
            }
        });
    }

    /// <summary>One convolution's arrays and sizes, handed to the worker threads.</summary>
    private readonly record struct ConvolutionJob(
        float[] X, int XOffset, float[] W, int WOffset, float[] Y, int YOffset, float[]? Bias, int BiasOffset,
        int InChannels, int InLength, int OutChannels, int OutLength, int Kernel, int Stride, int Dilation,
        int RowLength, int Chunk, int Chunks);

    /// <summary>One transposed convolution's arrays and sizes: outputs [TrimLeft, TrimLeft + OutLength) of frames from FirstFrame on.</summary>
    private readonly record struct ConvTransposeJob(
        float[] X, int XOffset, float[] W, int WOffset, float[] Y, int YOffset, float[]? Bias, int BiasOffset,
        int InChannels, int InLength, int OutChannels, int OutLength, int Taps, int Stride, int TrimLeft,
        int FirstFrame, int EndFrame, int RowLength, int Chunk, int Chunks);

    public void ConvTranspose1d(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = y.Dim(1), tout = y.Dim(2);
        int taps = ConvTransposeWeights.Taps(kernelSize, stride);
        OperationContracts.ConvTranspose1d(x, polyphaseWeight, bias, y, stride, kernelSize, trimLeft);
        int rowLength = cin * taps, phases = stride * cout;
        int qFirst = trimLeft / stride, qEnd = (trimLeft + tout - 1) / stride + 1;
        int chunk = ColumnChunk(rowLength), chunks = (qEnd - qFirst + chunk - 1) / chunk;
        var job = new ConvTransposeJob(Array(x, out int xo), xo, Array(polyphaseWeight, out int wo), wo, Array(y, out int yo), yo,
            bias is null ? null : Array(bias, out _), bias is null ? 0 : checked((int)bias.Offset),
            cin, tin, cout, tout, taps, stride, trimLeft, qFirst, qEnd, rowLength, chunk, chunks);
        CpuParallel.For(batch * chunks, (long)chunk * rowLength * phases, job, static (in s, start, end) =>
        {
            int phases = s.Stride * s.OutChannels;
            var scratch = Scratch.Get(s.Chunk * s.RowLength + phases * s.Chunk);
            var columns = scratch.AsSpan(0, s.Chunk * s.RowLength);
            var products = scratch.AsSpan(s.Chunk * s.RowLength, phases * s.Chunk);
            for (int item = start; item < end; item++)
            {
                int b = item / s.Chunks, q0 = s.FirstFrame + item % s.Chunks * s.Chunk, count = Math.Min(s.Chunk, s.EndFrame - q0);
                int xb = s.XOffset + b * s.InChannels * s.InLength;
                for (int q = 0; q < count; q++)
                    for (int ci = 0; ci < s.InChannels; ci++)
                        for (int m = 0; m < s.Taps; m++)
                        {
                            int t = q0 + q - m;
                            columns[q * s.RowLength + ci * s.Taps + m] = (uint)t < (uint)s.InLength ? s.X[xb + ci * s.InLength + t] : 0f;
                        }
                Gemm.MultiplyTransposed(s.W.AsSpan(s.WOffset), s.RowLength, columns, s.RowLength, products, count, phases, count, s.RowLength);
                int yb = s.YOffset + b * s.OutChannels * s.OutLength;
                for (int p = 0; p < s.Stride; p++)
                    for (int co = 0; co < s.OutChannels; co++)
                    {
                        float channelBias = s.Bias is null ? 0f : s.Bias[s.BiasOffset + co];
                        var row = products.Slice((p * s.OutChannels + co) * count, count);
                        for (int q = 0; q < count; q++)
                        {
                            int j = (q0 + q) * s.Stride + p - s.TrimLeft;
                            if ((uint)j < (uint)s.OutLength) s.Y[yb + co * s.OutLength + j] = row[q] + channelBias;
                        }
                    }
            }
        });
    }

    public void Pad1d(Tensor x, Tensor y, int left, int right, PadMode mode)
    {
        int length = x.Dim(-1), padded = length + left + right;
        int rows = length == 0 ? 0 : checked((int)(x.Length / length));
        OperationContracts.Pad1d(x, y, left, right);
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
