using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>The packed bytes are kept as they are: the kernels read every type's layout directly.</summary>
    public Tensor UploadPacked(PackedMatrix matrix) =>
        new(this, new CpuPackedBuffer(matrix.Data, _ledger), 0, [matrix.Rows, matrix.Columns], ownsBuffer: true, matrix.Type);

    /// <summary>
    /// y[M, N] = x[M, K] · W[N, K]ᵀ for a packed W, split over the cores by groups of 4 weight rows: skinny
    /// products decode the weights in registers (<see cref="PackedGemm"/>), wide ones (or a CPU without AVX2)
    /// decode 4 rows at a time into a float32 panel for <see cref="Gemm"/>.
    /// </summary>
    private static void PackedLinear(Tensor x, Tensor weight, Tensor y, int m, int n, int k)
    {
        if (weight.Buffer is not CpuPackedBuffer packed)
            throw new ArgumentException($"{weight} does not live on the CPU backend");
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        var state = (xs, xo, ys, yo, w: packed.Data, type: weight.ElementType, m, n, k);
        if (m <= PackedGemm.SkinnyMaxRows && PackedGemm.IsAccelerated)
        {
            CpuParallel.For((n + 3) / 4, 4L * m * k, state, static (in s, start, end) =>
            {
                unsafe
                {
                    fixed (float* x = &s.xs[s.xo], y = &s.ys[s.yo])
                    fixed (byte* w = s.w)
                    {
                        var scales = (float*)(w + PackedMatrix.ScalesAt(s.type, s.n, s.k));
                        PackedGemm.Skinny(s.type, x, s.m, s.k, w, scales, y, s.n, start * 4, Math.Min(s.n, end * 4));
                    }
                }
            });
            return;
        }
        CpuParallel.For((n + 3) / 4, 4L * m * k, state, static (in s, start, end) =>
        {
            var panel = Scratch.Get(4 * s.k, ScratchSlot.DecodedWeights);
            for (int j0 = start * 4; j0 < Math.Min(s.n, end * 4); j0 += 4)
            {
                int rows = Math.Min(4, s.n - j0);
                DecodePanel(s.type, s.w, s.n, s.k, j0, rows, panel);
                Gemm.MultiplyTransposed(s.xs.AsSpan(s.xo), s.k, panel, s.k, s.ys.AsSpan(s.yo + j0), s.n, s.m, rows, s.k);
            }
        });
    }

    private static unsafe void DecodePanel(WeightType type, byte[] w, int n, int k, int j0, int rows, float[] panel)
    {
        if (!PackedGemm.IsAccelerated)
        {
            for (int r = 0; r < rows; r++) PackedMatrix.DecodeRow(type, w, n, k, j0 + r, panel.AsSpan(r * k, k));
            return;
        }
        fixed (byte* weights = w)
        fixed (float* output = panel)
            PackedGemm.Decode(type, k, weights, (float*)(weights + PackedMatrix.ScalesAt(type, n, k)), j0, j0 + rows, output);
    }
}

/// <summary>The bytes of a packed weight matrix on the CPU backend, counted as weights until disposed.</summary>
public sealed class CpuPackedBuffer : IDeviceBuffer
{
    private MemoryLedger? _ledger;

    public byte[] Data { get; }
    public long Length => Data.Length;

    internal CpuPackedBuffer(byte[] data, MemoryLedger ledger)
    {
        Data = data;
        _ledger = ledger;
        ledger.Add(MemoryUse.Weights, data.LongLength);
    }

    public void Dispose() => Interlocked.Exchange(ref _ledger, null)?.Add(MemoryUse.Weights, -Data.LongLength);
}
