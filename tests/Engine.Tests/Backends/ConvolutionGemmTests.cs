using System.Runtime.Intrinsics;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The CPU backend's panel product with each register tile (the AVX-512 one only where the hardware has it)
/// against plain dot products, on sizes around the tile and block edges: rows past whole row tiles, depths past
/// whole packed blocks, partly filled panels, weight rows longer than the depth.
/// </summary>
public sealed class ConvolutionGemmTests
{
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Panel_product_matches_dot_products(bool wide)
    {
        Skip.If(wide && !Vector512.IsHardwareAccelerated, "no AVX-512 on this machine");
        int width = ConvolutionGemm.WidthOf(wide);
        Properties.ForAll(Properties.Ints((1, 20), (0, 300), (1, width), (0, 5), (0, 1000)), s =>
        {
            var (rows, depth, columns, slack, seed) = (s[0], s[1], s[2], s[3], s[4]);
            int lda = depth + slack;
            var a = RandomData.Uniform(seed, rows * lda);
            var b = RandomData.Uniform(seed + 1, depth * columns);
            var product = new float[ConvolutionGemm.PaddedRows(rows) * width];
            var source = new DenseColumns(b, columns, width);
            ConvolutionGemm.Multiply(ref source, a, lda, rows, depth, product, wide);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                {
                    double expected = 0;
                    for (int d = 0; d < depth; d++) expected += (double)a[r * lda + d] * b[d * columns + c];
                    Assert.True(Math.Abs(expected - product[r * width + c]) <= 1e-5 * (depth + 1),
                        $"row {r} column {c}: expected {expected}, got {product[r * width + c]}");
                }
        }, cases: 60);
    }

    /// <summary>Packs a dense row-major B[depth, columns], zero past the last column.</summary>
    private readonly struct DenseColumns(float[] b, int columns, int width) : IPanelSource
    {
        public ref float Rows(Span<float> panel, Span<int> offsets, int firstRow, int rows)
        {
            panel.Fill(float.NaN); // every position must be written
            for (int r = 0; r < rows; r++)
            {
                offsets[r] = r * width;
                b.AsSpan((firstRow + r) * columns, columns).CopyTo(panel.Slice(r * width));
                panel.Slice(r * width + columns, width - columns).Clear();
            }
            return ref panel[0];
        }
    }
}
