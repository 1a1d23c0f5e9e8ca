using System.Numerics;

namespace MusicGen.Engine.Audio;

/// <summary>
/// The unscaled discrete Fourier transform of a real signal whose length n is a power of two:
/// X[k] = Σ_t x[t]·e^(−2πi·kt/n) for k = 0 … n/2, the half that determines the rest. The even and odd samples are
/// packed into one complex signal of n/2 points, transformed by an iterative radix-2 FFT, and unpacked.
/// Twiddle factors are evaluated directly (not by recurrence), so the error stays near float64 rounding.
/// </summary>
public sealed class RealFft
{
    private readonly int _half;
    private readonly int[] _bitReversed;
    // The twiddles of every radix-2 stage, stage after stage, so that each butterfly loop reads them contiguously.
    private readonly double[] _stageCos, _stageSin;
    // e^(−2πi·k/n) for the unpacking.
    private readonly double[] _unpackCos, _unpackSin;

    public int Length { get; }

    /// <summary>Doubles of scratch <see cref="Forward"/> needs.</summary>
    public int ScratchLength => 2 * _half;

    public RealFft(int length)
    {
        if (length < 2 || !BitOperations.IsPow2(length))
            throw new ArgumentOutOfRangeException(nameof(length), length, "the length must be a power of two, at least 2");
        Length = length;
        _half = length / 2;

        int bits = BitOperations.Log2((uint)_half);
        _bitReversed = new int[_half];
        for (int t = 0; t < _half; t++)
            _bitReversed[t] = bits == 0 ? 0 : (int)(ReverseBits((uint)t) >> (32 - bits));

        _stageCos = new double[Math.Max(1, _half - 1)];
        _stageSin = new double[_stageCos.Length];
        int offset = 0;
        for (int span = 1; span < _half; span *= 2)
        {
            for (int j = 0; j < span; j++)
            {
                // e^(−πi·j/span)
                (_stageSin[offset + j], _stageCos[offset + j]) = Math.SinCos(-Math.PI * j / span);
            }
            offset += span;
        }

        _unpackCos = new double[_half + 1];
        _unpackSin = new double[_half + 1];
        for (int k = 0; k <= _half; k++) (_unpackSin[k], _unpackCos[k]) = Math.SinCos(-2 * Math.PI * k / length);
    }

    /// <summary>
    /// Transforms <paramref name="signal"/> (n samples) into bins 0 … n/2 of <paramref name="real"/> and
    /// <paramref name="imaginary"/>, using <paramref name="scratch"/> (<see cref="ScratchLength"/> doubles).
    /// </summary>
    public void Forward(ReadOnlySpan<double> signal, Span<double> real, Span<double> imaginary, Span<double> scratch)
    {
        if (signal.Length != Length) throw new ArgumentException($"expected {Length} samples, got {signal.Length}", nameof(signal));
        if (real.Length <= _half || imaginary.Length <= _half) throw new ArgumentException($"the outputs need {_half + 1} bins");
        Span<double> re = scratch[.._half], im = scratch.Slice(_half, _half);

        // z[t] = x[2t] + i·x[2t+1], stored in bit-reversed order for the in-place transform.
        for (int t = 0; t < _half; t++)
        {
            re[_bitReversed[t]] = signal[2 * t];
            im[_bitReversed[t]] = signal[2 * t + 1];
        }
        Transform(re, im);

        // With E = (Z[k] + conj Z[m−k]) / 2 and O = (Z[k] − conj Z[m−k]) / 2i: X[k] = E + e^(−2πik/n)·O.
        real[0] = re[0] + im[0];
        imaginary[0] = 0;
        real[_half] = re[0] - im[0];
        imaginary[_half] = 0;
        for (int k = 1; k < _half; k++)
        {
            int mirror = _half - k;
            double evenRe = 0.5 * (re[k] + re[mirror]), evenIm = 0.5 * (im[k] - im[mirror]);
            double oddRe = 0.5 * (im[k] + im[mirror]), oddIm = -0.5 * (re[k] - re[mirror]);
            double c = _unpackCos[k], s = _unpackSin[k];
            real[k] = evenRe + c * oddRe - s * oddIm;
            imaginary[k] = evenIm + c * oddIm + s * oddRe;
        }
    }

    /// <summary>The in-place radix-2 decimation-in-time FFT of bit-reversed input.</summary>
    private void Transform(Span<double> re, Span<double> im)
    {
        int offset = 0;
        for (int span = 1; span < _half; span *= 2)
        {
            ReadOnlySpan<double> cos = _stageCos.AsSpan(offset, span), sin = _stageSin.AsSpan(offset, span);
            for (int start = 0; start < _half; start += 2 * span)
            {
                Span<double> aRe = re.Slice(start, span), aIm = im.Slice(start, span);
                Span<double> bRe = re.Slice(start + span, span), bIm = im.Slice(start + span, span);
                int j = 0;
                if (span >= Vector<double>.Count)
                {
                    for (; j <= span - Vector<double>.Count; j += Vector<double>.Count)
                    {
                        var c = new Vector<double>(cos[j..]);
                        var s = new Vector<double>(sin[j..]);
                        var xr = new Vector<double>(bRe[j..]);
                        var xi = new Vector<double>(bIm[j..]);
                        var tr = c * xr - s * xi;
                        var ti = c * xi + s * xr;
                        var ar = new Vector<double>(aRe[j..]);
                        var ai = new Vector<double>(aIm[j..]);
                        (ar - tr).CopyTo(bRe[j..]);
                        (ai - ti).CopyTo(bIm[j..]);
                        (ar + tr).CopyTo(aRe[j..]);
                        (ai + ti).CopyTo(aIm[j..]);
                    }
                }
                for (; j < span; j++)
                {
                    double tr = cos[j] * bRe[j] - sin[j] * bIm[j];
                    double ti = cos[j] * bIm[j] + sin[j] * bRe[j];
                    (bRe[j], bIm[j]) = (aRe[j] - tr, aIm[j] - ti);
                    (aRe[j], aIm[j]) = (aRe[j] + tr, aIm[j] + ti);
                }
            }
            offset += span;
        }
    }

    private static uint ReverseBits(uint value)
    {
        value = ((value >> 1) & 0x55555555u) | ((value & 0x55555555u) << 1);
        value = ((value >> 2) & 0x33333333u) | ((value & 0x33333333u) << 2);
        value = ((value >> 4) & 0x0F0F0F0Fu) | ((value & 0x0F0F0F0Fu) << 4);
        value = ((value >> 8) & 0x00FF00FFu) | ((value & 0x00FF00FFu) << 8);
        return (value >> 16) | (value << 16);
    }
}
