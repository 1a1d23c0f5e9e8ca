using MusicGen.Engine.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>Output steps per work item of the residual unit: its intermediates stay in the core's L2.</summary>
    private const int ResidualTile = 256;

    /// <summary>
    /// The residual unit tile by tile along time: a tile's ELU'd (and padded) input, its narrow activations and
    /// its output are computed in per-thread buffers and the whole unit writes y once, instead of passing tensors
    /// of tens of megabytes through memory six times. Each product is the convolutions' panel product with the
    /// same sums in the same order, so the result equals the unfused operations bit for bit.
    /// </summary>
    protected override void ResidualUnitCore(Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight, Tensor wideBias, Tensor y,
        int dilation, int padLeft, int padRight, PadMode mode)
    {
        int batch = x.Dim(0), length = x.Dim(2), tiles = (length + ResidualTile - 1) / ResidualTile;
        var job = new ResidualJob(Array(x, out int xo), xo, Array(narrowWeight, out int nwo), nwo, Array(narrowBias, out int nbo), nbo,
            Array(wideWeight, out int wwo), wwo, Array(wideBias, out int wbo), wbo, Array(y, out int yo), yo,
            x.Dim(1), length, narrowWeight.Dim(0), narrowWeight.Dim(2), dilation, padLeft, padRight, mode, tiles);
        long cost = (long)ResidualTile * job.Narrow * job.Channels * (job.Kernel + 1);
        CpuParallel.For(batch * tiles, cost, job, static (in s, start, end) =>
        {
            for (int item = start; item < end; item++) ResidualTileOf(s, item / s.Tiles, item % s.Tiles * ResidualTile);
        });
    }

    /// <summary>Output steps [t0, t0 + ResidualTile) of batch row b.</summary>
    private static void ResidualTileOf(in ResidualJob s, int b, int t0)
    {
        int count = Math.Min(ResidualTile, s.Length - t0), reach = (s.Kernel - 1) * s.Dilation;
        int stride = ResidualTile + reach, width = ConvolutionGemm.PanelWidth;
        var input = Scratch.Get(s.Channels * stride, ScratchSlot.TileInput); // [C, count + reach]: ELU(padded x)
        var narrow = Scratch.Get(s.Narrow * ResidualTile, ScratchSlot.TileNarrow); // [Ch, count]
        var product = Scratch.Get(ConvolutionGemm.PaddedRows(Math.Max(s.Channels, s.Narrow)) * width, ScratchSlot.TileProduct);
        int xb = s.XOffset + b * s.Channels * s.Length;

        for (int c = 0; c < s.Channels; c++)
        {
            var row = input.AsSpan(c * stride, count + reach);
            int first = t0 - s.PadLeft; // the input step at padded position t0
            if (first >= 0 && first + row.Length <= s.Length) s.X.AsSpan(xb + c * s.Length + first, row.Length).CopyTo(row);
            else
                for (int p = 0; p < row.Length; p++)
                {
                    int source = PadIndex.Source(t0 + p, s.Length, s.PadLeft, s.PadRight, s.Mode);
                    row[p] = source < 0 ? 0f : s.X[xb + c * s.Length + source];
                }
        }
        // One pass over all rows (the steps between a short last tile's rows are never read): rows of count +
        // reach steps would each end in a partial vector.
        CpuActivations.MapWide<EluActivation>(input.AsSpan(0, s.Channels * stride), input.AsSpan(0, s.Channels * stride));

        for (int p0 = 0; p0 < count; p0 += width)
        {
            int columns = Math.Min(width, count - p0);
            var source = new ConvolutionColumns(input, 0, InputPadding.None(stride), s.Kernel, 1, s.Dilation, p0, columns, width);
            ConvolutionGemm.Multiply(ref source, s.NarrowWeight.AsSpan(s.NarrowWeightOffset), s.Channels * s.Kernel, s.Narrow, s.Channels * s.Kernel, product);
            for (int r = 0; r < s.Narrow; r++)
                TensorPrimitives.Add(product.AsSpan(r * width, columns), s.NarrowBias[s.NarrowBiasOffset + r], narrow.AsSpan(r * ResidualTile + p0, columns));
        }
        CpuActivations.MapWide<EluActivation>(narrow.AsSpan(0, s.Narrow * ResidualTile), narrow.AsSpan(0, s.Narrow * ResidualTile));

        int yb = s.YOffset + b * s.Channels * s.Length + t0;
        for (int p0 = 0; p0 < count; p0 += width)
        {
            int columns = Math.Min(width, count - p0);
            var source = new ConvolutionColumns(narrow, 0, InputPadding.None(ResidualTile), 1, 1, 1, p0, columns, width);
            ConvolutionGemm.Multiply(ref source, s.WideWeight.AsSpan(s.WideWeightOffset), s.Narrow, s.Channels, s.Narrow, product);
            for (int c = 0; c < s.Channels; c++)
            {
                var target = s.Y.AsSpan(yb + c * s.Length + p0, columns);
                TensorPrimitives.Add(product.AsSpan(c * width, columns), s.WideBias[s.WideBiasOffset + c], target);
                TensorPrimitives.Add(s.X.AsSpan(xb + c * s.Length + t0 + p0, columns), target, target);
            }
        }
    }

    /// <summary>One residual unit's arrays and sizes, handed to the worker threads.</summary>
    private readonly record struct ResidualJob(
        float[] X, int XOffset, float[] NarrowWeight, int NarrowWeightOffset, float[] NarrowBias, int NarrowBiasOffset,
        float[] WideWeight, int WideWeightOffset, float[] WideBias, int WideBiasOffset, float[] Y, int YOffset,
        int Channels, int Length, int Narrow, int Kernel, int Dilation, int PadLeft, int PadRight, PadMode Mode, int Tiles);
}
