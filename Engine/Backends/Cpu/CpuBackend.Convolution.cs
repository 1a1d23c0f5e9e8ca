using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    protected override void Conv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation) =>
        PaddedConv1dCore(x, weight, bias, y, stride, dilation, 0, 0, PadMode.Zero);

    /// <summary>
    /// Conv1d as the product weight[Cout, Cin·K] · columns[Cin·K, Tout], one panel of output steps at a time; the
    /// columns are read from the input in place or gathered into a packed panel (see <see cref="ConvolutionGemm"/>),
    /// through the padding rule where a panel reaches past the input's ends.
    /// </summary>
    protected override void PaddedConv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation, int padLeft, int padRight, PadMode mode)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = weight.Dim(0), kernel = weight.Dim(2), tout = y.Dim(2);
        var padding = new InputPadding(tin, padLeft, padRight, mode);
        if (cout == 1 && stride == 1)
        {
            SingleOutputConv1d(x, weight, bias, y, dilation, padding);
            return;
        }
        var tiling = PanelTiling.For(batch, tout, cout, cin * kernel);
        var job = new ConvolutionJob(Array(x, out int xo), xo, Array(weight, out int wo), wo, Array(y, out int yo), yo,
            bias is null ? null : Array(bias, out _), bias is null ? 0 : checked((int)bias.Offset),
            cin, padding, cout, tout, kernel, stride, dilation, tiling);
        CpuParallel.For(tiling.Items, tiling.CostPerItem, job, static (in s, start, end) =>
        {
            var tiling = s.Tiling;
            var product = Scratch.Get(ConvolutionGemm.PaddedRows(tiling.RowGroup) * tiling.Width);
            for (int item = start; item < end; item++)
            {
                var (b, t0, count, r0, rows) = tiling.Item(item, s.OutLength, s.OutChannels);
                var source = new ConvolutionColumns(s.X, s.XOffset + b * s.InChannels * s.Padding.Length, s.Padding, s.Kernel, s.Stride,
                    s.Dilation, t0, count, tiling.Width);
                ConvolutionGemm.Multiply(ref source, s.W.AsSpan(s.WOffset + r0 * tiling.Depth), tiling.Depth, rows, tiling.Depth, product);
                int yb = s.YOffset + b * s.OutChannels * s.OutLength + t0;
                for (int r = 0; r < rows; r++)
                {
                    var computed = product.AsSpan(r * tiling.Width, count);
                    var target = s.Y.AsSpan(yb + (r0 + r) * s.OutLength, count);
                    if (s.Bias is null) computed.CopyTo(target);
                    else TensorPrimitives.Add(computed, s.Bias[s.BiasOffset + r0 + r], target);
                }
            }
        });
    }

    /// <summary>
    /// The transposed convolution as the product polyphase[s·Cout, Cin·taps] · columns[Cin·taps, frames]: row
    /// (p, co) of the product at frame q is output q·s + p of channel co, scattered into place with the bias.
    /// </summary>
    protected override void ConvTranspose1dCore(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = y.Dim(1), tout = y.Dim(2);
        int taps = ConvTransposeWeights.Taps(kernelSize, stride);
        int firstFrame = trimLeft / stride, endFrame = (trimLeft + tout - 1) / stride + 1;
        var tiling = PanelTiling.For(batch, endFrame - firstFrame, stride * cout, cin * taps);
        var job = new ConvTransposeJob(Array(x, out int xo), xo, Array(polyphaseWeight, out int wo), wo, Array(y, out int yo), yo,
            bias is null ? null : Array(bias, out _), bias is null ? 0 : checked((int)bias.Offset),
            cin, tin, cout, tout, taps, stride, trimLeft, firstFrame, endFrame, tiling);
        CpuParallel.For(tiling.Items, tiling.CostPerItem, job, static (in s, start, end) =>
        {
            var tiling = s.Tiling;
            var product = Scratch.Get(ConvolutionGemm.PaddedRows(tiling.RowGroup) * tiling.Width);
            for (int item = start; item < end; item++)
            {
                var (b, frame, count, r0, rows) = tiling.Item(item, s.EndFrame - s.FirstFrame, s.Stride * s.OutChannels);
                int q0 = s.FirstFrame + frame;
                var source = new TransposedColumns(s.X, s.XOffset + b * s.InChannels * s.InLength, s.InLength, s.Taps, q0, count, tiling.Width);
                ConvolutionGemm.Multiply(ref source, s.W.AsSpan(s.WOffset + r0 * tiling.Depth), tiling.Depth, rows, tiling.Depth, product);
                int yb = s.YOffset + b * s.OutChannels * s.OutLength;
                Scatter(s, product, r0, rows, q0, count, tiling.Width, s.Y.AsSpan(yb, s.OutChannels * s.OutLength));
            }
        });
    }

    /// <summary>
    /// Writes product rows [r0, r0 + rows) of frames [q0, q0 + count) into place with the bias: row (p, co) at frame
    /// q is output q·s + p − trimLeft of channel co. A channel whose s phases are all among the rows writes its
    /// outputs in order, the s phases of a frame one after another; the edges of a row group go phase by phase.
    /// </summary>
    private static void Scatter(in ConvTransposeJob s, float[] product, int r0, int rows, int q0, int count, int width, Span<float> y)
    {
        int stride = s.Stride, channels = s.OutChannels;
        // Frames whose every phase lands inside [0, Tout).
        int inner0 = Math.Min(count, Math.Max(0, CeilDiv(s.TrimLeft, stride) - q0));
        int inner1 = Math.Max(inner0, Math.Min(count, (s.TrimLeft + s.OutLength) / stride - q0));
        for (int r = 0; r < rows; r++)
        {
            int phase = (r0 + r) / channels, co = (r0 + r) % channels;
            float bias = s.Bias is null ? 0f : s.Bias[s.BiasOffset + co];
            bool whole = co >= r0 && co + (stride - 1) * channels < r0 + rows;
            if (!whole)
            {
                ScatterPhase(s, product.AsSpan(r * width, count), phase, co, bias, q0, 0, count, y);
                continue;
            }
            if (phase > 0) continue; // written with the channel's first phase
            if (inner1 > inner0)
            {
                ref float source = ref product[r * width + inner0];
                ref float target = ref y[co * s.OutLength + (q0 + inner0) * stride - s.TrimLeft];
                int t = stride == 4 ? InterleaveFour(ref source, channels * width, inner1 - inner0, bias, ref target) : 0;
                for (; t < inner1 - inner0; t++)
                    for (int p = 0; p < stride; p++)
                        Unsafe.Add(ref target, t * stride + p) = Unsafe.Add(ref source, p * channels * width + t) + bias;
            }
            for (int p = 0; p < stride; p++)
            {
                var row = product.AsSpan((r + p * channels) * width, count);
                ScatterPhase(s, row, p, co, bias, q0, 0, inner0, y);
                ScatterPhase(s, row, p, co, bias, q0, inner1, count, y);
            }
        }
    }

    /// <summary>
    /// target[4t + p] = rows[p · rowStride + t] + bias for t below count in groups of 4 (a 4 × 4 transpose in
    /// registers, stride 4 being the codec's two longest layers'); returns the frames done.
    /// </summary>
    private static int InterleaveFour(ref float rows, int rowStride, int count, float bias, ref float target)
    {
        if (!Sse.IsSupported) return 0;
        var b = Vector128.Create(bias);
        int t = 0;
        for (; t + 4 <= count; t += 4)
        {
            var r0 = Vector128.LoadUnsafe(ref rows, (nuint)t) + b;
            var r1 = Vector128.LoadUnsafe(ref rows, (nuint)(rowStride + t)) + b;
            var r2 = Vector128.LoadUnsafe(ref rows, (nuint)(2 * rowStride + t)) + b;
            var r3 = Vector128.LoadUnsafe(ref rows, (nuint)(3 * rowStride + t)) + b;
            var low01 = Sse.UnpackLow(r0, r1);   // r0[0] r1[0] r0[1] r1[1]
            var low23 = Sse.UnpackLow(r2, r3);
            var high01 = Sse.UnpackHigh(r0, r1); // r0[2] r1[2] r0[3] r1[3]
            var high23 = Sse.UnpackHigh(r2, r3);
            Sse.MoveLowToHigh(low01, low23).StoreUnsafe(ref target, (nuint)(4 * t));
            Sse.MoveHighToLow(low23, low01).StoreUnsafe(ref target, (nuint)(4 * t + 4));
            Sse.MoveLowToHigh(high01, high23).StoreUnsafe(ref target, (nuint)(4 * t + 8));
            Sse.MoveHighToLow(high23, high01).StoreUnsafe(ref target, (nuint)(4 * t + 12));
        }
        return t;
    }

    /// <summary>Frames [from, to) of one phase row, those whose output falls inside [0, Tout).</summary>
    private static void ScatterPhase(in ConvTransposeJob s, ReadOnlySpan<float> row, int phase, int co, float bias, int q0, int from, int to, Span<float> y)
    {
        int first = Math.Max(from, CeilDiv(s.TrimLeft - phase, s.Stride) - q0);
        int last = Math.Min(to, CeilDiv(s.TrimLeft + s.OutLength - phase, s.Stride) - q0);
        var target = y.Slice(co * s.OutLength);
        for (int t = first; t < last; t++) target[(q0 + t) * s.Stride + phase - s.TrimLeft] = row[t] + bias;
    }

    /// <summary>Output steps of a single-output convolution per work item: 8 vectors of accumulators.</summary>
    private static int SingleOutputSpan => 8 * Vector<float>.Count;

    /// <summary>
    /// A convolution to one output channel (the decoder's last, to mono audio), where the panel product would
    /// fill one row of its 6-row tile: 8 vectors of consecutive outputs stay in registers while every input row
    /// and tap passes, with the same fused multiply-adds in the same order as the panel product, then the bias.
    /// </summary>
    private static void SingleOutputConv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int dilation, InputPadding padding)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2), kernel = weight.Dim(2), tout = y.Dim(2);
        int spans = (tout + SingleOutputSpan - 1) / SingleOutputSpan;
        var job = (xs: Array(x, out int xo), xo, ws: Array(weight, out int wo), wo, ys: Array(y, out int yo), yo,
            bias: bias is null ? 0f : Span(bias)[0], cin, tin, kernel, tout, dilation, spans, padding);
        CpuParallel.For(batch * spans, (long)SingleOutputSpan * cin * kernel, job, static (in s, start, end) =>
        {
            Span<float> result = stackalloc float[SingleOutputSpan];
            for (int item = start; item < end; item++)
            {
                int b = item / s.spans, t0 = item % s.spans * SingleOutputSpan, count = Math.Min(SingleOutputSpan, s.tout - t0);
                var input = s.xs.AsSpan(s.xo + b * s.cin * s.tin, s.cin * s.tin);
                SingleOutputSpanOf(input, s.ws.AsSpan(s.wo, s.cin * s.kernel), s.cin, s.kernel, s.dilation, s.padding, t0, count, s.bias, result);
                result[..count].CopyTo(s.ys.AsSpan(s.yo + b * s.tout + t0, count));
            }
        });
    }

    /// <summary>
    /// Outputs [t0, t0 + count) of one batch row into result (SingleOutputSpan long). Output t reads padded
    /// positions [t, t + reach] of each input row: in place where they are all inside the input, else from a
    /// window of the row filled through the padding rule (zeros past the last output's reach).
    /// </summary>
    private static void SingleOutputSpanOf(ReadOnlySpan<float> x, ReadOnlySpan<float> w, int cin, int kernel, int dilation,
        InputPadding padding, int t0, int count, float bias, Span<float> result)
    {
        int width = Vector<float>.Count, reach = (kernel - 1) * dilation, tin = padding.Length;
        bool inside = count == SingleOutputSpan && padding.Inside(t0, t0 + SingleOutputSpan - 1 + reach);
        var window = inside ? [] : Scratch.Get(SingleOutputSpan + reach, ScratchSlot.TileInput);
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int ci = 0; ci < cin; ci++)
        {
            var row = x.Slice(ci * tin, tin);
            scoped ref float start = ref Unsafe.NullRef<float>();
            if (inside)
            {
                start = ref Unsafe.Add(ref MemoryMarshal.GetReference(row), t0 - padding.Left);
                PrefetchNextPanel(ref start, 0, SingleOutputSpan);
            }
            else
            {
                for (int i = 0; i < SingleOutputSpan + reach; i++) window[i] = i < count + reach ? padding.At(row, t0 + i) : 0f;
                start = ref window[0];
            }
            for (int k = 0; k < kernel; k++)
            {
                var v = new Vector<float>(w[ci * kernel + k]);
                ref float source = ref Unsafe.Add(ref start, k * dilation);
                a0 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, 0), a0);
                a1 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)width), a1);
                a2 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)(2 * width)), a2);
                a3 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)(3 * width)), a3);
                a4 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)(4 * width)), a4);
                a5 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)(5 * width)), a5);
                a6 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)(6 * width)), a6);
                a7 = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref source, (nuint)(7 * width)), a7);
            }
        }
        var b = new Vector<float>(bias);
        (a0 + b).CopyTo(result);
        (a1 + b).CopyTo(result[width..]);
        (a2 + b).CopyTo(result[(2 * width)..]);
        (a3 + b).CopyTo(result[(3 * width)..]);
        (a4 + b).CopyTo(result[(4 * width)..]);
        (a5 + b).CopyTo(result[(5 * width)..]);
        (a6 + b).CopyTo(result[(6 * width)..]);
        (a7 + b).CopyTo(result[(7 * width)..]);
    }

    /// <summary>
    /// An input row of Length steps as a convolution sees it, padded by Left and Right under Mode: padded
    /// position p reads the row at <see cref="PadIndex.Source"/> (or zero).
    /// </summary>
    private readonly record struct InputPadding(int Length, int Left, int Right, PadMode Mode)
    {
        public static InputPadding None(int length) => new(length, 0, 0, PadMode.Zero);

        /// <summary>Whether padded positions [first, last] all lie in the row itself.</summary>
        public bool Inside(int first, int last) => first >= Left && last < Left + Length;

        public float At(ReadOnlySpan<float> row, int p)
        {
            int index = PadIndex.Source(p, Length, Left, Right, Mode);
            return index < 0 ? 0f : row[index];
        }
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    /// <summary>
    /// How a convolution's product is cut into work items: batch rows × panels of output steps × groups of
    /// output rows (see <see cref="ConvolutionGemm.RowGroup"/>).
    /// </summary>
    private readonly record struct PanelTiling(int Batch, int Width, int Panels, int RowGroup, int Groups, int Depth)
    {
        public static PanelTiling For(int batch, int columns, int rows, int depth)
        {
            int width = ConvolutionGemm.PanelWidth, panels = (columns + width - 1) / width;
            int group = ConvolutionGemm.RowGroup(rows, batch * panels);
            return new PanelTiling(batch, width, panels, group, (rows + group - 1) / group, depth);
        }

        public int Items => Batch * Panels * Groups;
        public long CostPerItem => (long)Width * Depth * RowGroup;

        /// <summary>Batch row, first column and column count, first row and row count of a work item.</summary>
        public (int Batch, int Column, int Columns, int Row, int Rows) Item(int item, int columns, int rows)
        {
            int group = item % Groups, panel = item / Groups % Panels, b = item / (Groups * Panels);
            int column = panel * Width, row = group * RowGroup;
            return (b, column, Math.Min(Width, columns - column), row, Math.Min(RowGroup, rows - row));
        }
    }

    /// <summary>
    /// columns[(ci, k), t] = padded x[ci, t·stride + k·dilation] for one panel: read in place when the stride is 1,
    /// the panel whole and inside the input (each row is then a contiguous run of it), else gathered into the packed
    /// panel, through the padding rule for rows that reach past the input's ends.
    /// </summary>
    private readonly struct ConvolutionColumns(float[] x, int offset, InputPadding padding, int kernel, int stride, int dilation,
        int firstColumn, int columns, int width) : IPanelSource
    {
        public ref float Rows(Span<float> panel, Span<int> offsets, int firstRow, int rows)
        {
            int length = padding.Length, span = (columns - 1) * stride + 1;
            bool inPlace = stride == 1 && columns == width
                && padding.Inside(firstColumn, firstColumn + columns - 1 + (kernel - 1) * dilation);
            for (int r = 0; r < rows; r++)
            {
                int d = firstRow + r, ci = d / kernel, k = d % kernel, first = firstColumn * stride + k * dilation;
                bool inside = padding.Inside(first, first + span - 1);
                int start = ci * length + first - padding.Left;
                if (k == 0 && inside) PrefetchNextPanel(ref x[offset], start, columns * stride);
                if (inPlace)
                {
                    offsets[r] = start;
                    continue;
                }
                offsets[r] = r * width;
                var target = panel.Slice(r * width, width);
                if (!inside)
                {
                    var row = x.AsSpan(offset + ci * length, length);
                    for (int t = 0; t < columns; t++) target[t] = padding.At(row, first + t * stride);
                }
                else if (stride == 1) x.AsSpan(offset + start, columns).CopyTo(target);
                else Gather(x.AsSpan(offset + start, span), stride, target[..columns]);
                target[columns..].Clear();
            }
            return ref inPlace ? ref x[offset] : ref panel[0];
        }
    }

    /// <summary>
    /// Fetches the part of an input row the next panel reads, [start + span, start + 2 · span), while this panel
    /// computes: a layer's rows are one stream per input channel, more than the hardware prefetcher follows.
    /// Prefetching past the end of the array is harmless (it never faults).
    /// </summary>
    private static unsafe void PrefetchNextPanel(ref float row0, int start, int span)
    {
        byte* next = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref row0, start + span));
        for (int line = 0; line < span * sizeof(float) + 64; line += 64) Sse.Prefetch0(next + line);
    }

    /// <summary>
    /// target[t] = source[t · stride]; source is checked to hold the last one, the loop runs unchecked. With AVX2,
    /// 8 at a time by the gather instruction: the strided convolutions gather every row of every panel.
    /// </summary>
    private static unsafe void Gather(ReadOnlySpan<float> source, int stride, Span<float> target)
    {
        if (source.Length < (target.Length - 1L) * stride + 1) throw new ArgumentException("source too short for the gather");
        int t = 0;
        fixed (float* from = source)
        fixed (float* to = target)
        {
            if (Avx2.IsSupported)
            {
                var indices = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * stride;
                for (; t + 8 <= target.Length; t += 8) Avx.Store(to + t, Avx2.GatherVector256(from + (long)t * stride, indices, 4));
            }
            for (; t < target.Length; t++) to[t] = from[(long)t * stride];
        }
    }

    /// <summary>columns[(ci, m), q] = x[ci, q − m] (zero outside the input) for the frames of one panel, packed.</summary>
    private readonly struct TransposedColumns(float[] x, int offset, int length, int taps, int firstFrame, int columns, int width) : IPanelSource
    {
        public ref float Rows(Span<float> panel, Span<int> offsets, int firstRow, int rows)
        {
            for (int r = 0; r < rows; r++)
            {
                int d = firstRow + r, ci = d / taps, m = d % taps;
                if (m == 0 && firstFrame + 2 * columns <= length) PrefetchNextPanel(ref x[offset], ci * length + firstFrame, columns);
                offsets[r] = r * width;
                var target = panel.Slice(r * width, width);
                int first = Math.Clamp(m - firstFrame, 0, columns), end = Math.Clamp(length + m - firstFrame, first, columns);
                target[..first].Clear();
                if (end > first) x.AsSpan(offset + ci * length + firstFrame + first - m, end - first).CopyTo(target[first..]);
                target[end..].Clear();
            }
            return ref panel[0];
        }
    }

    /// <summary>One convolution's arrays and sizes, handed to the worker threads.</summary>
    private readonly record struct ConvolutionJob(
        float[] X, int XOffset, float[] W, int WOffset, float[] Y, int YOffset, float[]? Bias, int BiasOffset,
        int InChannels, InputPadding Padding, int OutChannels, int OutLength, int Kernel, int Stride, int Dilation, PanelTiling Tiling);

    /// <summary>One transposed convolution's arrays and sizes: outputs [TrimLeft, TrimLeft + OutLength) of frames from FirstFrame on.</summary>
    private readonly record struct ConvTransposeJob(
        float[] X, int XOffset, float[] W, int WOffset, float[] Y, int YOffset, float[]? Bias, int BiasOffset,
        int InChannels, int InLength, int OutChannels, int OutLength, int Taps, int Stride, int TrimLeft,
        int FirstFrame, int EndFrame, PanelTiling Tiling);

    protected override void Pad1dCore(Tensor x, Tensor y, int left, int right, PadMode mode)
    {
        int length = x.Dim(-1), padded = length + left + right;
        int rows = length == 0 ? 0 : checked((int)(x.Length / length));
        var xs = Span(x);
        var ys = Span(y);
        for (int r = 0; r < rows; r++)
        {
            var source = xs.Slice(r * length, length);
            var target = ys.Slice(r * padded, padded);
            // The input itself lands unchanged in the middle; only the edges need the padding rule.
            source.CopyTo(target[left..]);
            for (int p = 0; p < left; p++) target[p] = Padded(source, p, length, left, right, mode);
            for (int p = left + length; p < padded; p++) target[p] = Padded(source, p, length, left, right, mode);
        }
    }

    private static float Padded(ReadOnlySpan<float> source, int p, int length, int left, int right, PadMode mode)
    {
        int index = PadIndex.Source(p, length, left, right, mode);
        return index < 0 ? 0f : source[index];
    }
}
