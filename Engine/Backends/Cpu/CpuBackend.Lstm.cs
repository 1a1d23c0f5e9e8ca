using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>Rows of W_hh per block of the recurrent product.</summary>
    private const int RecurrentRows = 64;

    /// <summary>
    /// One LSTM step. The recurrent product streams all of W_hh (at musicgen's width, more than the caches) once per
    /// step for every batch row; the gate arithmetic is one fused vector pass. Each core takes one contiguous share
    /// of W_hh and walks it in the opposite direction every other step, so the part it read last, still in its own
    /// cache, is the part it reads first (faster than walking it the same way every step). A packed W_hh (bfloat16:
    /// half the bytes) is converted in registers by the skinny packed kernels.
    /// </summary>
    protected override void LstmStepCore(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t)
    {
        int batch = gates.Dim(0), steps = gates.Dim(1), hidden = recurrentWeight.Dim(1);
        if (recurrentWeight.ElementType != WeightType.F32 && recurrentWeight.Buffer is not CpuPackedBuffer)
            throw new ArgumentException($"{recurrentWeight} is not a packed matrix of the CPU backend");
        var gs = Array(gates, out int go);
        var cs = Array(cell, out int co);
        var hs = Array(output, out int ho);
        // z[b, 4H] = W_hh · h[b, t − 1]; one pass over W_hh serves every batch row (rows of h are steps·H apart).
        var z = Scratch.Get(batch * 4 * hidden);
        if (t == 0) System.Array.Clear(z, 0, batch * 4 * hidden);
        else if (recurrentWeight.ElementType == WeightType.F32) RecurrentProduct(hs, ho + (t - 1) * hidden, steps * hidden, recurrentWeight, z, batch, t);
        else
        {
            // The packed kernels read h as contiguous rows.
            var previous = Scratch.Get(batch * hidden, ScratchSlot.RecurrentInput);
            for (int b = 0; b < batch; b++) System.Array.Copy(hs, ho + (b * steps + t - 1) * hidden, previous, b * hidden, hidden);
            RecurrentProduct(previous, 0, hidden, recurrentWeight, z, batch, t);
        }

        for (int b = 0; b < batch; b++)
            LstmCell(z.AsSpan(b * 4 * hidden, 4 * hidden), gs.AsSpan(go + (b * steps + t) * 4 * hidden, 4 * hidden),
                cs.AsSpan(co + b * hidden, hidden), hs.AsSpan(ho + (b * steps + t) * hidden, hidden), first: t == 0);
    }

    /// <summary>z[b, 4H] = W_hh · h[b] for h's rows at h[offset + b · stride], in blocks of <see cref="RecurrentRows"/> rows of W_hh per core, reversed on even steps.</summary>
    private static void RecurrentProduct(float[] h, int offset, int stride, Tensor recurrentWeight, float[] z, int batch, int t)
    {
        int hidden = recurrentWeight.Dim(1), blocks = (4 * hidden + RecurrentRows - 1) / RecurrentRows, shares = Math.Min(CpuParallel.Workers, blocks);
        var job = new RecurrentJob(h, offset, stride, recurrentWeight.ElementType, recurrentWeight.Buffer, checked((int)recurrentWeight.Offset),
            z, batch, hidden, blocks, shares, Reverse: t % 2 == 0);
        CpuParallel.For(shares, (long)blocks * RecurrentRows * batch * hidden / shares, job, static (in s, start, end) =>
        {
            for (int share = start; share < end; share++)
            {
                int first = s.Blocks * share / s.Shares, last = s.Blocks * (share + 1) / s.Shares;
                for (int i = first; i < last; i++)
                {
                    int r0 = (s.Reverse ? first + last - 1 - i : i) * RecurrentRows, rows = Math.Min(RecurrentRows, 4 * s.Hidden - r0);
                    s.Block(r0, rows);
                }
            }
        });
    }

    /// <summary>One recurrent product's operands, handed to the worker threads.</summary>
    private readonly record struct RecurrentJob(float[] H, int Offset, int Stride, WeightType Type, IDeviceBuffer Weight, int WeightOffset,
        float[] Z, int Batch, int Hidden, int Blocks, int Shares, bool Reverse)
    {
        /// <summary>Rows [r0, r0 + rows) of z.</summary>
        public unsafe void Block(int r0, int rows)
        {
            if (Type == WeightType.F32)
            {
                var w = ((CpuBuffer)Weight).Data;
                Gemm.MultiplyTransposed(H.AsSpan(Offset), Stride, w.AsSpan(WeightOffset + r0 * Hidden), Hidden, Z.AsSpan(r0), 4 * Hidden, Batch, rows, Hidden);
                return;
            }
            var packed = (CpuPackedBuffer)Weight;
            if (packed.RowGroups)
            {
                // The recurrent product stays in float32: its rows are decoded, not multiplied with rounded activations.
                var panel = Scratch.Get(rows * Hidden, ScratchSlot.DecodedWeights);
                fixed (float* output = panel)
                    IntegerGemm.Decode(Type, packed.Groups, Hidden, r0, r0 + rows, output);
                Gemm.MultiplyTransposed(H.AsSpan(Offset), Stride, panel, Hidden, Z.AsSpan(r0), 4 * Hidden, Batch, rows, Hidden);
                return;
            }
            fixed (float* x = &H[Offset], y = Z)
            fixed (byte* w = packed.Data)
                PackedGemm.Skinny(Type, x, Batch, Hidden, w, (float*)(w + PackedMatrix.ScalesAt(Type, 4 * Hidden, Hidden)), y, 4 * Hidden, r0, r0 + rows);
        }
    }

    /// <summary>
    /// The gates and state update of one batch row, z = W_hh·h + (x·W_ihᵀ + biases) in torch order i, f, g, o:
    /// c = σ(f)·c + σ(i)·tanh(g) (c = 0 before the first step), h = σ(o)·tanh(c).
    /// </summary>
    private static void LstmCell(Span<float> z, ReadOnlySpan<float> projected, Span<float> c, Span<float> h, bool first)
    {
        int hidden = c.Length, width = Vector<float>.Count, j = 0;
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float pr = ref MemoryMarshal.GetReference(projected);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float hr = ref MemoryMarshal.GetReference(h);
        for (; j <= hidden - width; j += width)
        {
            Vector<float> Gate(ref float zr, ref float pr, int offset) =>
                Vector.LoadUnsafe(ref zr, (nuint)offset) + Vector.LoadUnsafe(ref pr, (nuint)offset);
            var input = Sigmoid(Gate(ref zr, ref pr, j));
            var forget = Sigmoid(Gate(ref zr, ref pr, hidden + j));
            var candidate = Tanh(Gate(ref zr, ref pr, 2 * hidden + j));
            var outputGate = Sigmoid(Gate(ref zr, ref pr, 3 * hidden + j));
            var state = first ? input * candidate : Vector.FusedMultiplyAdd(input, candidate, forget * Vector.LoadUnsafe(ref cr, (nuint)j));
            state.StoreUnsafe(ref cr, (nuint)j);
            (outputGate * Tanh(state)).StoreUnsafe(ref hr, (nuint)j);
        }
        for (; j < hidden; j++)
        {
            float input = 1f / (1f + MathF.Exp(-(z[j] + projected[j])));
            float forget = 1f / (1f + MathF.Exp(-(z[hidden + j] + projected[hidden + j])));
            float candidate = MathF.Tanh(z[2 * hidden + j] + projected[2 * hidden + j]);
            float outputGate = 1f / (1f + MathF.Exp(-(z[3 * hidden + j] + projected[3 * hidden + j])));
            c[j] = first ? input * candidate : MathF.FusedMultiplyAdd(input, candidate, forget * c[j]);
            h[j] = outputGate * MathF.Tanh(c[j]);
        }
    }

    /// <summary>σ(x) from e^−|x| (never overflows): 1 / (1 + e) for x ≥ 0, e / (1 + e) below.</summary>
    private static Vector<float> Sigmoid(Vector<float> x)
    {
        var e = CpuActivations.ExpOfNonPositive(-Vector.Abs(x));
        var inverse = Vector<float>.One / (Vector<float>.One + e);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), inverse, e * inverse);
    }

    /// <summary>tanh x = sign(x) · (1 − e) / (1 + e) with e = e^−2|x|.</summary>
    private static Vector<float> Tanh(Vector<float> x)
    {
        var e = CpuActivations.ExpOfNonPositive(-2f * Vector.Abs(x));
        var magnitude = (Vector<float>.One - e) / (Vector<float>.One + e);
        return Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), -magnitude, magnitude);
    }
}
