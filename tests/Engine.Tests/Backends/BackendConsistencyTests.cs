using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// Each operation of a device backend (OpenCL, ILGPU) against the CPU backend on random shapes that reach every
/// kernel variant (skinny and tiled products, direct and tiled convolutions, several attention chunks and
/// reduction passes), on views that start inside larger buffers.
/// </summary>
public abstract class BackendConsistencyTests
{
    /// <summary>The device backends multiply in float32, so their reference does too (not with integer dot products).</summary>
    private readonly CpuBackend _cpu = new(integerProducts: false);

    /// <summary>The backend checked against the CPU.</summary>
    protected abstract IBackend Tested { get; }

    /// <summary>Called first by every test: a backend that needs hardware skips (or fails) here when it has none.</summary>
    protected virtual void SkipUnlessAvailable() { }

    private BackendPair Pair(int seed) => new(_cpu, Tested, seed);

    /// <summary>Float sums of k unit-scale products differ by a few ulp per term between summation orders.</summary>
    private static double SumTolerance(int k) => 1e-5 + 1e-6 * k;

    [SkippableFact]
    public void Linear_agrees_with_the_cpu_for_skinny_and_tiled_shapes()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 80), (1, 150), (1, 300), (0, 1000)), s =>
        {
            var (m, n, k, seed) = (s[0], s[1], s[2], s[3]);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, m, k);
            var w = pair.Random(seed + 1, 1f, n, k);
            var bias = seed % 3 == 0 ? default : pair.Random(seed + 2, 1f, n);
            var y = pair.Output(m, n);
            _cpu.Linear(x.Reference, w.Reference, bias.Reference, y.Reference);
            Tested.Linear(x.Tested, w.Tested, bias.Tested, y.Tested);
            BackendPair.AssertClose(y, SumTolerance(k), $"Linear m={m} n={n} k={k}");
        }, cases: 60);
    }

    [SkippableFact]
    public void Linear_agrees_with_the_cpu_for_decoding_steps()
    {
        SkipUnlessAvailable();
        const int k = 1024, n = 4096;
        Properties.ForAll(Properties.Ints((2, 8), (0, 1000)), s =>
        {
            var (m, seed) = (s[0], s[1]);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, m, k);
            var w = pair.Random(seed + 1, 0.05f, n, k);
            var bias = pair.Random(seed + 2, 1f, n);
            var y = pair.Output(m, n);
            _cpu.Linear(x.Reference, w.Reference, bias.Reference, y.Reference);
            Tested.Linear(x.Tested, w.Tested, bias.Tested, y.Tested);
            BackendPair.AssertClose(y, 1e-4, $"Linear m={m}");
        }, cases: 8);
    }

    [SkippableTheory]
    [InlineData(WeightType.F16)]
    [InlineData(WeightType.BF16)]
    [InlineData(WeightType.Q8)]
    [InlineData(WeightType.Q4)]
    public void Linear_with_packed_weights_agrees_with_the_cpu(WeightType type)
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 80), (1, 150), (1, 10), (0, 1000)), s =>
        {
            var (m, n, seed) = (s[0], s[1], s[3]);
            int k = type is WeightType.Q8 or WeightType.Q4 ? 32 * s[2] : 29 * s[2];
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, m, k);
            var packed = PackedMatrix.Pack(type, RandomData.Uniform(seed + 1, n * k), n, k);
            using var wCpu = _cpu.UploadPacked(packed);
            using var wTested = Tested.UploadPacked(packed);
            var bias = seed % 3 == 0 ? default : pair.Random(seed + 2, 1f, n);
            var y = pair.Output(m, n);
            _cpu.Linear(x.Reference, wCpu, bias.Reference, y.Reference);
            Tested.Linear(x.Tested, wTested, bias.Tested, y.Tested);
            BackendPair.AssertClose(y, SumTolerance(k), $"Linear {type.Name()} m={m} n={n} k={k}");
        }, cases: 24);
    }

    [SkippableFact]
    public void Conv1d_agrees_with_the_cpu_for_direct_and_tiled_channel_counts()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 40), (1, 90), (1, 9), (1, 5), (1, 3), (0, 200), (0, 1000)), s =>
        {
            var (batch, cin, cout, kernel, stride, dilation, extra, seed) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            int tin = (kernel - 1) * dilation + 1 + extra, tout = (tin - (kernel - 1) * dilation - 1) / stride + 1;
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, batch, cin, tin);
            var w = pair.Random(seed + 1, 1f, cout, cin, kernel);
            var bias = seed % 2 == 0 ? default : pair.Random(seed + 2, 1f, cout);
            var y = pair.Output(batch, cout, tout);
            _cpu.Conv1d(x.Reference, w.Reference, bias.Reference, y.Reference, stride, dilation);
            Tested.Conv1d(x.Tested, w.Tested, bias.Tested, y.Tested, stride, dilation);
            BackendPair.AssertClose(y, SumTolerance(cin * kernel), $"Conv1d cin={cin} cout={cout} k={kernel} s={stride} d={dilation}");
        }, cases: 50);
    }

    [SkippableFact]
    public void ConvTranspose1d_agrees_with_the_cpu_for_any_trim()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 40), (1, 80), (1, 12), (1, 6), (1, 100), (0, 1000), (0, 1000), (0, 1000)), s =>
        {
            var (batch, cin, cout, kernel, stride, tin) = (s[0], s[1], s[2], s[3], s[4], s[5]);
            var (trimA, trimB, seed) = (s[6], s[7], s[8]);
            int full = (tin - 1) * stride + kernel, trimLeft = trimA % full, tout = 1 + trimB % (full - trimLeft);
            int taps = ConvTransposeWeights.Taps(kernel, stride);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, batch, cin, tin);
            var polyphase = ConvTransposeWeights.ToPolyphase(RandomData.Uniform(seed + 1, cin * cout * kernel), cin, cout, kernel, stride);
            var w = pair.Upload(polyphase, stride * cout, cin * taps);
            var bias = pair.Random(seed + 2, 1f, cout);
            var y = pair.Output(batch, cout, tout);
            _cpu.ConvTranspose1d(x.Reference, w.Reference, bias.Reference, y.Reference, stride, kernel, trimLeft);
            Tested.ConvTranspose1d(x.Tested, w.Tested, bias.Tested, y.Tested, stride, kernel, trimLeft);
            BackendPair.AssertClose(y, SumTolerance(cin * taps), $"ConvTranspose1d cin={cin} cout={cout} k={kernel} s={stride} trim={trimLeft}");
        }, cases: 50);
    }

    [SkippableFact]
    public void Pad1d_copies_exactly_what_the_cpu_copies()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 4), (1, 600), (0, 300), (0, 300), (0, 1), (0, 1000)), s =>
        {
            var (rows, length, left, right, mode, seed) = (s[0], s[1], s[2], s[3], (PadMode)s[4], s[5]);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, rows, length);
            var y = pair.Output(rows, length + left + right);
            _cpu.Pad1d(x.Reference, y.Reference, left, right, mode);
            Tested.Pad1d(x.Tested, y.Tested, left, right, mode);
            Assert.Equal(y.Reference.ToArray(), y.Tested.ToArray());
        }, cases: 60);
    }

    [SkippableFact]
    public void Row_reductions_agree_with_the_cpu_on_long_rows()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 5), (1, 3000), (0, 1000)), s =>
        {
            var (rows, d, seed) = (s[0], s[1], s[2]);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 4f, rows, d);
            var w = pair.Random(seed + 1, 1f, d);
            var b = pair.Random(seed + 2, 1f, d);
            var y = pair.Output(rows, d);
            _cpu.LayerNorm(x.Reference, w.Reference, b.Reference, y.Reference, 1e-5f);
            Tested.LayerNorm(x.Tested, w.Tested, b.Tested, y.Tested, 1e-5f);
            BackendPair.AssertClose(y, 1e-5, "LayerNorm");
            _cpu.LayerNorm(x.Reference, w.Reference, null, y.Reference, 1e-5f);
            Tested.LayerNorm(x.Tested, w.Tested, null, y.Tested, 1e-5f);
            BackendPair.AssertClose(y, 1e-5, "LayerNorm without bias");
            _cpu.RmsNorm(x.Reference, w.Reference, y.Reference, 1e-6f);
            Tested.RmsNorm(x.Tested, w.Tested, y.Tested, 1e-6f);
            BackendPair.AssertClose(y, 1e-5, "RmsNorm");
            _cpu.Softmax(x.Reference, y.Reference);
            Tested.Softmax(x.Tested, y.Tested);
            BackendPair.AssertClose(y, 1e-6, "Softmax");
            _cpu.Softmax(x.Reference, x.Reference);
            Tested.Softmax(x.Tested, x.Tested);
            BackendPair.AssertClose((x.Reference, x.Tested), 1e-6, "Softmax in place");
        }, cases: 40);
    }

    [SkippableFact]
    public void Elementwise_operations_agree_with_the_cpu_in_place_and_on_views()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 6), (1, 700), (0, 1000)), s =>
        {
            var (rows, d, seed) = (s[0], s[1], s[2]);
            using var pair = Pair(seed);
            var a = pair.Random(seed, 5f, rows, d);
            var b = pair.Random(seed + 1, 1f, rows, d);
            var y = pair.Output(rows, d);
            foreach (var kind in Enum.GetValues<ActivationKind>())
            {
                _cpu.Activation(a.Reference, y.Reference, kind);
                Tested.Activation(a.Tested, y.Tested, kind);
                BackendPair.AssertClose(y, 2e-6, kind.ToString()); // float erf/tanh/expm1 against the CPU's double evaluation
            }
            _cpu.Add(a.Reference, b.Reference, y.Reference);
            Tested.Add(a.Tested, b.Tested, y.Tested);
            Assert.Equal(y.Reference.ToArray(), y.Tested.ToArray());
            _cpu.Multiply(a.Reference, y.Reference, y.Reference);
            Tested.Multiply(a.Tested, y.Tested, y.Tested);
            Assert.Equal(y.Reference.ToArray(), y.Tested.ToArray());
            var scales = RandomData.Uniform(seed + 3, rows);
            _cpu.ScaleRows(b.Reference, scales, b.Reference);
            Tested.ScaleRows(b.Tested, scales, b.Tested);
            Assert.Equal(b.Reference.ToArray(), b.Tested.ToArray());
        }, cases: 40);
    }

    [SkippableFact]
    public void Gather_agrees_with_the_cpu_with_scale_and_accumulation()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 50), (1, 700), (1, 20), (0, 1000)), s =>
        {
            var (vocabulary, d, count, seed) = (s[0], s[1], s[2], s[3]);
            using var pair = Pair(seed);
            var table = pair.Random(seed, 1f, vocabulary, d);
            var ids = Enumerable.Range(0, count).Select(i => (i * 31 + seed) % vocabulary).ToArray();
            var y = pair.Output(count, d);
            _cpu.Gather(table.Reference, ids, y.Reference);
            Tested.Gather(table.Tested, ids, y.Tested);
            Assert.Equal(y.Reference.ToArray(), y.Tested.ToArray());
            _cpu.Gather(table.Reference, ids, y.Reference, scale: -0.5f, accumulate: true);
            Tested.Gather(table.Tested, ids, y.Tested, scale: -0.5f, accumulate: true);
            BackendPair.AssertClose(y, 1e-6, "Gather accumulate");
        }, cases: 40);
    }

    [SkippableFact]
    public void Attention_agrees_with_the_cpu_over_several_key_chunks()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 4), (1, 700), (1, 4), (1, 130), (0, 5), (0, 7), (0, 1000)), s =>
        {
            var (batch, queries, keys, heads, headDim, spareRows, flags, seed) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            bool causal = (flags & 1) != 0, withBias = (flags & 2) != 0, withMask = (flags & 4) != 0;
            int width = heads * headDim, keyRows = keys + spareRows;
            using var pair = Pair(seed);
            var q = pair.Random(seed, 1f, batch, queries, width);
            var k = pair.Random(seed + 1, 1f, batch, keyRows, width);
            var v = pair.Random(seed + 2, 1f, batch, keyRows, width);
            var bias = withBias ? pair.Random(seed + 3, 1f, heads, queries, keys) : default;
            // Batch row 0 is fully masked (every value weighs the same); the others keep about two keys in three.
            var mask = withMask
                ? pair.Upload(Enumerable.Range(0, batch * keys).Select(i => i < keys ? 0f : (i * 7 + seed) % 3 == 0 ? 0f : 1f).ToArray(), batch, keys)
                : default;
            var output = pair.Output(batch, queries, width);
            var options = new AttentionOptions(heads, 1f / MathF.Sqrt(headDim), keys, causal, Math.Max(0, keys - queries));
            _cpu.Attention(q.Reference, k.Reference, v.Reference, output.Reference, options with { PositionBias = bias.Reference, KeyMask = mask.Reference });
            Tested.Attention(q.Tested, k.Tested, v.Tested, output.Tested, options with { PositionBias = bias.Tested, KeyMask = mask.Tested });
            BackendPair.AssertClose(output, 1e-5, $"Attention keys={keys} headDim={headDim} flags={flags}");
        }, cases: 50);
    }

    [SkippableFact]
    public void Attention_agrees_with_the_cpu_for_a_decoding_step_over_a_long_cache()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1700, 2100), (0, 1000)), s =>
        {
            var (keys, seed) = (s[0], s[1]);
            const int batch = 4, heads = 8, headDim = 64, capacity = 2200, width = heads * headDim;
            using var pair = Pair(seed);
            var q = pair.Random(seed, 1f, batch, 1, width);
            var k = pair.Random(seed + 1, 1f, batch, capacity, width);
            var v = pair.Random(seed + 2, 1f, batch, capacity, width);
            var output = pair.Output(batch, 1, width);
            var options = new AttentionOptions(heads, 1f / MathF.Sqrt(headDim), keys, Causal: true, QueryOffset: keys - 1);
            _cpu.Attention(q.Reference, k.Reference, v.Reference, output.Reference, options);
            Tested.Attention(q.Tested, k.Tested, v.Tested, output.Tested, options);
            BackendPair.AssertClose(output, 1e-5, $"Attention keys={keys}");
        }, cases: 5);
    }

    [SkippableFact]
    public void Nearest_codes_agree_with_the_cpu_up_to_rounding_ties()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 60), (1, 600), (1, 140), (0, 1000)), s =>
        {
            var (rows, size, d, seed) = (s[0], s[1], s[2], s[3]);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, rows, d);
            var codebook = pair.Random(seed + 1, 1f, size, d);
            var expected = new int[rows];
            var actual = new int[rows];
            _cpu.NearestCodes(x.Reference, codebook.Reference, expected);
            Tested.NearestCodes(x.Tested, codebook.Tested, actual);
            for (int r = 0; r < rows; r++)
            {
                if (expected[r] == actual[r]) continue;
                // Float distances of two codes this close may order either way; anything else is a bug.
                double a = Distance(x.Data, r, codebook.Data, expected[r], d), b = Distance(x.Data, r, codebook.Data, actual[r], d);
                Assert.True(Math.Abs(a - b) <= 1e-5 * (1 + a), $"row {r}: cpu code {expected[r]} at {a}, OpenCL code {actual[r]} at {b}");
            }
        }, cases: 40);
    }

    [SkippableFact]
    public void Nearest_codes_take_the_first_of_equal_codes()
    {
        SkipUnlessAvailable();
        const int size = 300, d = 16;
        var codebook = RandomData.Uniform(1, size * d);
        // Rows 5, 77 and 250 are the same vector; 77 and 250 sit in other work items' strides than 5.
        foreach (int copy in new[] { 77, 250 }) Array.Copy(codebook, 5 * d, codebook, copy * d, d);
        var x = codebook.AsSpan(5 * d, d).ToArray().Concat(codebook.AsSpan(250 * d, d).ToArray()).ToArray();
        using var xt = Tested.Upload(x, 2, d);
        using var ct = Tested.Upload(codebook, size, d);
        var codes = new int[2];
        Tested.NearestCodes(xt, ct, codes);
        Assert.Equal([5, 5], codes);
    }

    [SkippableFact]
    public void Lstm_steps_agree_with_the_cpu_for_small_and_large_batches()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 12), (1, 6), (1, 80), (0, 1000)), s =>
        {
            var (batch, steps, hidden, seed) = (s[0], s[1], s[2], s[3]);
            using var pair = Pair(seed);
            var gates = pair.Random(seed, 1f, batch, steps, 4 * hidden);
            var weight = pair.Random(seed + 1, 0.3f, 4 * hidden, hidden);
            var cell = pair.Output(batch, hidden);
            var output = pair.Output(batch, steps, hidden);
            for (int t = 0; t < steps; t++)
            {
                _cpu.LstmStep(gates.Reference, weight.Reference, cell.Reference, output.Reference, t);
                Tested.LstmStep(gates.Tested, weight.Tested, cell.Tested, output.Tested, t);
            }
            BackendPair.AssertClose(output, 1e-5, $"LSTM output batch={batch} hidden={hidden}");
            BackendPair.AssertClose(cell, 1e-5, "LSTM cell");
        }, cases: 40);
    }

    [SkippableFact]
    public void Block_copies_agree_with_the_cpu_between_and_within_buffers()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 300), (1, 6), (0, 40), (0, 40), (0, 40), (0, 1), (0, 1000)), s =>
        {
            var (blockLength, blockCount, gapA, gapB, shift, within, seed) = (s[0], s[1], s[2], s[3], s[4], s[5] == 1, s[6]);
            int sourceStride = blockLength + gapA, destinationStride = blockLength + gapB;
            int length = Math.Max(sourceStride, destinationStride) * blockCount + shift + blockLength;
            using var pair = Pair(seed);
            var source = pair.Random(seed, 1f, length);
            var destination = within ? (source.Reference, source.Tested) : pair.Output(length);
            // Within one buffer the destination starts `shift` elements after the source: the regions overlap.
            _cpu.CopyBlocks(source.Reference, 0, sourceStride, destination.Reference, shift, destinationStride, blockLength, blockCount);
            Tested.CopyBlocks(source.Tested, 0, sourceStride, destination.Tested, shift, destinationStride, blockLength, blockCount);
            Assert.Equal(destination.Reference.ToArray(), destination.Tested.ToArray());
        }, cases: 60);
    }

    [SkippableFact]
    public void Transpose_agrees_with_the_cpu_across_tiles()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 3), (1, 90), (1, 90), (0, 1000)), s =>
        {
            var (batch, m, n, seed) = (s[0], s[1], s[2], s[3]);
            using var pair = Pair(seed);
            var x = pair.Random(seed, 1f, batch, m, n);
            var y = pair.Output(batch, n, m);
            _cpu.Transpose(x.Reference, y.Reference);
            Tested.Transpose(x.Tested, y.Tested);
            Assert.Equal(y.Reference.ToArray(), y.Tested.ToArray());
        }, cases: 40);
    }

    private static double Distance(float[] x, int row, float[] codebook, int code, int d)
    {
        double sum = 0;
        for (int e = 0; e < d; e++) sum += Math.Pow((double)x[row * d + e] - codebook[code * d + e], 2);
        return sum;
    }
}

[Collection(OpenClCollection.Name)]
public sealed class OpenClConsistencyTests(OpenClFixture fixture) : BackendConsistencyTests
{
    protected override IBackend Tested => fixture.Backend;

    protected override void SkipUnlessAvailable() => OpenClAvailability.SkipUnlessAvailable();
}

[Collection(IlgpuCollection.Name)]
public sealed class IlgpuConsistencyTests(IlgpuFixture fixture) : BackendConsistencyTests
{
    protected override IBackend Tested => fixture.Backend;
}
