using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Tensors;
using MusicGen.Kernels.OpenCl;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// Every operation of the backend interface against a plain reference implementation, on random shapes
/// (including sizes that are not multiples of the vector width or tile). Each backend runs the same tests.
/// </summary>
public abstract partial class BackendOpsTests
{
    protected abstract IBackend Backend { get; }

    /// <summary>Called first by every test: a backend that needs hardware skips (or fails) here when it has none.</summary>
    protected virtual void SkipUnlessAvailable() { }

    private const double Tolerance = 2e-5;

    private Tensor Upload(float[] data, params int[] shape) => Backend.Upload(data, shape);

    [SkippableFact]
    public void Counters_count_a_launch_per_operation_and_a_synchronization_per_download_and_never_decrease()
    {
        SkipUnlessAvailable();
        bool onHost = Backend.Capabilities.OnHost;
        using var x = Upload(RandomData.Uniform(1, 2 * 8), 2, 8);
        using var w = Upload(RandomData.Uniform(2, 3 * 8), 3, 8);
        using var y = Backend.Allocate(2, 3);
        var beforeLinear = Backend.Counters;
        Backend.Linear(x, w, null, y);
        var afterLinear = Backend.Counters;
        Backend.Download(y, new float[6]);
        var afterDownload = Backend.Counters;

        var linear = afterLinear - beforeLinear;
        var download = afterDownload - afterLinear;
        Assert.True(linear.Launches >= 0 && linear.Synchronizations >= 0 && download.Launches >= 0, $"{linear}, {download}");
        Assert.Equal(onHost ? 0 : 1, Math.Min(linear.Launches, 1));
        Assert.Equal(onHost ? 0 : 1, download.Synchronizations);
        Assert.Equal(0, download.Launches);
    }

    /// <summary>
    /// A decoding step of eight prompts with guidance is 16 rows: a device backend's LayerNormLinear takes them in its
    /// skinny product, which normalizes as it reads (one launch); a prompt's rows go to the tiled product after a
    /// norm launch of its own (two).
    /// </summary>
    [SkippableFact]
    public void LayerNormLinear_of_a_decoding_steps_16_rows_is_one_launch()
    {
        SkipUnlessAvailable();
        const int k = 64, n = 24;
        foreach (var (m, launches) in new[] { (16, 1), (17, 2) })
        {
            using var x = Upload(RandomData.Uniform(1, m * k), m, k);
            using var gain = Upload(RandomData.Uniform(2, k), k);
            using var w = Upload(RandomData.Uniform(3, n * k), n, k);
            using var y = Backend.Allocate(m, n);
            var before = Backend.Counters;
            Backend.LayerNormLinear(x, gain, null, 1e-5f, w, null, y);
            Assert.Equal(Backend.Capabilities.OnHost ? 0 : launches, (Backend.Counters - before).Launches);
        }
    }

    [SkippableFact]
    public void Host_arguments_are_queued_without_waiting_and_read_as_they_were_when_passed()
    {
        SkipUnlessAvailable();
        const int rows = 5, d = 4, gathers = 1200;
        var a = RandomData.Uniform(3, rows * d);
        using var table = Upload(a, rows, d);
        using var first = Backend.Allocate(2, d);
        using var sum = Backend.Allocate(16, d);
        var ids = new[] { 1, 3 };
        var before = Backend.Counters;
        Backend.Gather(table, ids, first);
        // The caller's ids change at once; the queued gather must still read { 1, 3 }. Then enough gathers to fill
        // any staging of host arguments many times over, each with ids the next call overwrites.
        var many = new int[16];
        var expected = new float[16 * d];
        for (int g = 0; g < gathers; g++)
        {
            for (int i = 0; i < many.Length; i++)
            {
                many[i] = (g + i) % rows;
                for (int j = 0; j < d; j++) expected[i * d + j] += a[many[i] * d + j];
            }
            if (g == 0) ids[0] = ids[1] = 0;
            Backend.Gather(table, many, sum, accumulate: g > 0);
        }
        var queued = Backend.Counters - before;

        Assert.Equal(new[] { 1, 3 }.SelectMany(id => a.Skip(id * d).Take(d)).ToArray(), first.ToArray());
        RandomData.AssertClose(expected, sum.ToArray(), 1e-4, "gathers through the staging");
        // Waiting is allowed only when the staging fills: far fewer waits than calls.
        Assert.True(queued.Synchronizations <= gathers / 100, $"{queued.Synchronizations} synchronizations for {gathers + 1} gathers");
    }

    [SkippableFact]
    public void Gather_with_several_ids_a_row_sums_their_rows_in_order_as_single_gathers_would()
    {
        SkipUnlessAvailable();
        const int tableRows = 7, d = 13, rows = 3, each = 4;
        var a = RandomData.Uniform(5, tableRows * d);
        using var table = Upload(a, tableRows, d);
        var ids = Enumerable.Range(0, rows * each).Select(i => (i * 5 + 2) % tableRows).ToArray();
        var start = RandomData.Uniform(6, rows * d);
        using var sum = Upload(start, rows, d);
        using var accumulated = Upload(start, rows, d);
        // The definition: one single gather per id of the row, each added to the sum so far.
        var expected = new float[rows * d];
        var expectedAccumulated = (float[])start.Clone();
        for (int r = 0; r < rows; r++)
            for (int s = 0; s < each; s++)
                for (int e = 0; e < d; e++)
                {
                    float value = -0.5f * a[ids[r * each + s] * d + e];
                    expected[r * d + e] += value;
                    expectedAccumulated[r * d + e] += value;
                }

        Backend.Gather(table, ids, sum, scale: -0.5f);
        Backend.Gather(table, ids, accumulated, scale: -0.5f, accumulate: true);

        RandomData.AssertClose(expected, sum.ToArray(), 1e-6, "Gather of several ids a row");
        RandomData.AssertClose(expectedAccumulated, accumulated.ToArray(), 1e-6, "Gather of several ids a row, accumulated");
    }

    public static TheoryData<bool, bool, float, int, float> SamplingRules() => new()
    {
        { false, true, 1f, 0, 1f },     // greedy
        { true, true, 1f, 0, 1f },      // greedy after guidance
        { true, false, 1f, 0, 1f },     // the draw over every code
        { true, false, 0.7f, 250, 1f }, // MusicGen's defaults: top-k 250 of more codes than that
        { false, false, 1.3f, 5, 1f },  // top-k, ties with the k-th kept
        { true, false, 1f, 0, 0.8f },   // top-p
        { true, false, 0.5f, 20, 0.9f },
    };

    [SkippableTheory]
    [MemberData(nameof(SamplingRules))]
    public void SampleCodes_gives_the_codes_of_the_rules_definition_for_the_same_logits_and_uniforms(bool guided, bool greedy, float temperature,
        int topK, float topP)
    {
        SkipUnlessAvailable();
        var rule = new SamplingRule(guided, 3f, greedy, temperature, topK, topP);
        foreach (int vocabulary in new[] { 37, 2048 })
        {
            const int rows = 8;
            // Scores in steps of 1/4: many equal scores, so the rules for ties decide.
            var logits = RandomData.Uniform(vocabulary, (guided ? 2 : 1) * rows * vocabulary, 4f).Select(x => MathF.Round(4 * x) / 4).ToArray();
            var uniforms = Enumerable.Range(0, rows).Select(r => SamplingRule.Uniform((ulong)(r + 1) * 0x9E3779B97F4A7C15UL)).ToArray();
            var expected = new int[rows];
            var scores = new float[vocabulary];
            var order = new long[vocabulary];
            for (int r = 0; r < rows; r++)
            {
                rule.Guide(logits, rows, r, scores);
                expected[r] = rule.Pick(scores, uniforms[r], order);
            }
            using var onDevice = Upload(logits, (guided ? 2 : 1) * rows, vocabulary);
            var codes = new int[rows];
            var again = new int[rows];

            Backend.SampleCodes(onDevice, vocabulary, rule, greedy ? [] : uniforms, codes);
            var before = Backend.Counters; // the scratch grown by the first call
            Backend.SampleCodes(onDevice, vocabulary, rule, greedy ? [] : uniforms, again);

            Assert.Equal(expected, codes);
            Assert.Equal(expected, again);
            Assert.True((Backend.Counters - before).Synchronizations <= 1, "only the codes' download waits");
        }
    }

    [SkippableFact]
    public void SampleCodes_goes_past_a_running_sum_that_only_equals_its_bound()
    {
        SkipUnlessAvailable();
        // Four equal scores: each adds exactly 1 (a quarter of the total), so the sums meet their bounds exactly.
        using var onDevice = Upload(new float[4], 1, 4);
        var code = new int[1];
        // The draw: uniform 0.25 puts the target at 1, which the first code's sum equals but does not exceed.
        Backend.SampleCodes(onDevice, 4, new SamplingRule(false, 1f, false, 1f, 0, 1f), [0.25f], code);
        Assert.Equal(1, code[0]);
        // top-p 0.5: the first two codes' probabilities sum to exactly 1 − p, so both go; of the two left, the
        // target (half of their total) falls in the first.
        Backend.SampleCodes(onDevice, 4, new SamplingRule(false, 1f, false, 1f, 0, 0.5f), [0.25f], code);
        Assert.Equal(2, code[0]);
    }

    [SkippableFact]
    public void SampleCodes_marks_a_row_with_a_non_finite_logit()
    {
        SkipUnlessAvailable();
        var logits = RandomData.Uniform(9, 2 * 3 * 5);
        logits[2 * 5 + 1] = float.NaN;           // row 2, conditional
        logits[(3 + 0) * 5 + 4] = float.PositiveInfinity; // row 0, unconditional
        using var onDevice = Upload(logits, 6, 5);
        var codes = new int[3];

        Backend.SampleCodes(onDevice, 5, new SamplingRule(true, 3f, false, 1f, 2, 0.9f), [0.5f, 0.5f, 0.5f], codes);

        Assert.Equal(-1, codes[0]);
        Assert.InRange(codes[1], 0, 4);
        Assert.Equal(-1, codes[2]);
    }

    [SkippableFact]
    public void Linear_matches_the_reference()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 9), (1, 13), (1, 70), (0, 1000)), s =>
        {
            var (m, n, k, seed) = (s[0], s[1], s[2], s[3]);
            var x = RandomData.Uniform(seed, m * k);
            var w = RandomData.Uniform(seed + 1, n * k);
            var bias = seed % 2 == 0 ? null : RandomData.Uniform(seed + 2, n);
            using var y = Backend.Allocate(m, n);
            using var xt = Upload(x, m, k);
            using var wt = Upload(w, n, k);
            using var bt = bias is null ? null : Upload(bias, n);
            Backend.Linear(xt, wt, bt, y);
            RandomData.AssertClose(NaiveOps.Linear(x, w, bias, m, n, k), y.ToArray(), Tolerance * k, "Linear");
        });
    }

    /// <summary>
    /// Rows of x (or LSTM batch rows) that reach every backend's skinny product of a decoding step (at most 16, each
    /// backend's limit), or its tiled product (above 16).
    /// </summary>
    public enum ProductPath { Skinny, Tiled }

    protected static (int Low, int High) RowsFor(ProductPath path) => path == ProductPath.Skinny ? (1, 16) : (17, 40);

    public static TheoryData<WeightType, ProductPath> PackedProducts()
    {
        var data = new TheoryData<WeightType, ProductPath>();
        foreach (var type in WeightTypes.All.Where(t => t != WeightType.F32))
            foreach (var path in Enum.GetValues<ProductPath>())
                data.Add(type, path);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(PackedProducts))]
    public void Linear_with_packed_weights_matches_the_decoded_weights(WeightType type, ProductPath path)
    {
        SkipUnlessAvailable();
        // Integer dot products multiply against activations rounded to 8 bits per block of 32 (NaiveOps.RoundedToInt8Blocks).
        bool roundsActivations = Backend.Capabilities.IntegerProducts && type is WeightType.Q8 or WeightType.Q4;
        AssertPackedLinearMatchesTheDecodedWeights(Backend, type, roundsActivations, RowsFor(path));
    }

    protected static void AssertPackedLinearMatchesTheDecodedWeights(IBackend backend, WeightType type, bool roundsActivations, (int Low, int High) rows)
    {
        // q8, q4 need whole blocks of 32; other widths have a tail after the last group of four.
        Properties.ForAll(Properties.Ints(rows, (1, 13), (1, 100), (0, 1000)), s =>
        {
            var (m, n, seed) = (s[0], s[1], s[3]);
            int k = type is WeightType.Q8 or WeightType.Q4 ? 32 * (1 + s[2] % 4) : s[2];
            var x = RandomData.Uniform(seed, m * k);
            var packed = PackedMatrix.Pack(type, RandomData.Uniform(seed + 1, n * k), n, k);
            var decoded = packed.Decode();
            var bias = seed % 2 == 0 ? null : RandomData.Uniform(seed + 2, n);
            using var y = backend.Allocate(m, n);
            using var xt = backend.Upload(x, m, k);
            using var wt = backend.UploadPacked(packed);
            using var bt = bias is null ? null : backend.Upload(bias, n);
            backend.Linear(xt, wt, bt, y);
            Assert.Equal(type, wt.ElementType);
            var expected = NaiveOps.Linear(roundsActivations ? NaiveOps.RoundedToInt8Blocks(x) : x, decoded, bias, m, n, k);
            RandomData.AssertClose(expected, y.ToArray(), Tolerance * k, $"Linear {type.Name()} m={m} n={n} k={k}");
        }, cases: 25);
    }

    [SkippableFact]
    public void Float16_weights_convert_exactly_including_subnormals_and_signed_zeros()
    {
        SkipUnlessAvailable();
        // One-hot rows of x pick single weights, so y is each weight as the kernel converts it.
        const int k = 40;
        var weights = new float[k];
        float[] special = [0f, -0f, 6e-8f, -6e-8f, 3e-6f, -4.5e-5f, 6.1e-5f, 6.2e-5f, 1f, -65504f, 0.1f, -2.5e-3f];
        for (int i = 0; i < k; i++) weights[i] = special[i % special.Length] * (i < special.Length ? 1 : 0.5f);
        var packed = PackedMatrix.Pack(WeightType.F16, weights, 1, k);
        var expected = new float[k];
        packed.DecodeRow(0, expected);
        var x = new float[k * k];
        for (int i = 0; i < k; i++) x[i * k + i] = 1;
        foreach (int rows in new[] { 2, k })
        {
            using var xt = Upload(x.AsSpan(0, rows * k).ToArray(), rows, k);
            using var wt = Backend.UploadPacked(packed);
            using var y = Backend.Allocate(rows, 1);
            Backend.Linear(xt, wt, null, y);
            Assert.Equal(expected.AsSpan(0, rows).ToArray(), y.ToArray());
        }
    }

    /// <summary>
    /// The fused epilogues against the operations they fuse, on this backend: accumulate is the plain product added to
    /// y, an activation the plain product through <see cref="IBackend.Activation"/>; both product kernels (a decoding
    /// step's few rows, many rows), float32 and packed weights, with and without a bias.
    /// </summary>
    [SkippableFact]
    public void Linear_epilogues_match_the_product_then_the_operation_they_fuse()
    {
        SkipUnlessAvailable();
        const int n = 37, k = 64;
        var epilogues = new[] { LinearEpilogue.Accumulate, LinearEpilogue.Then(ActivationKind.Gelu), LinearEpilogue.Then(ActivationKind.GeluTanh), LinearEpilogue.Then(ActivationKind.Relu) };
        foreach (int m in new[] { 2, 40 })
            foreach (var type in new[] { WeightType.F32, WeightType.Q8 })
                foreach (bool withBias in new[] { false, true })
                {
                    int seed = m + (int)type + (withBias ? 100 : 0);
                    var w = RandomData.Uniform(seed + 1, n * k);
                    using var xt = Upload(RandomData.Uniform(seed, m * k), m, k);
                    using var wt = type == WeightType.F32 ? Upload(w, n, k) : Backend.UploadPacked(PackedMatrix.Pack(type, w, n, k));
                    using var bt = withBias ? Upload(RandomData.Uniform(seed + 2, n), n) : null;
                    var initial = RandomData.Uniform(seed + 3, m * n);
                    using var plain = Backend.Allocate(m, n);
                    Backend.Linear(xt, wt, bt, plain);
                    foreach (var epilogue in epilogues)
                    {
                        using var expected = Upload(initial, m, n);
                        if (epilogue.Accumulates) Backend.Add(expected, plain, expected);
                        else Backend.Activation(plain, expected, epilogue.Activation!.Value);
                        using var y = Upload(initial, m, n);
                        Backend.Linear(xt, wt, bt, y, epilogue);
                        RandomData.AssertClose(expected.ToArray(), y.ToArray(), 1e-6, $"Linear {epilogue} m={m} {type.Name()} bias={withBias}");
                    }
                }
    }

    /// <summary>
    /// LayerNormLinear against LayerNorm then Linear on this backend (the CPU's composition of them defines it): both
    /// product kernels, float32 and packed weights, norms with and without a bias, widths with a tail after the last
    /// group of four, and the epilogues the decoder uses with it (planes, an activation).
    /// </summary>
    [SkippableFact]
    public void LayerNormLinear_matches_the_norm_then_the_product()
    {
        SkipUnlessAvailable();
        const int n = 36;
        var epilogues = new[] { LinearEpilogue.Store, LinearEpilogue.Planes(12), LinearEpilogue.Then(ActivationKind.Gelu) };
        foreach (int m in new[] { 1, 2, 8, 13, 16, 40 })
            foreach (var (type, k) in new[] { (WeightType.F32, 70), (WeightType.Q8, 64), (WeightType.F16, 1030) })
                foreach (bool normBias in new[] { false, true })
                    foreach (var epilogue in epilogues)
                    {
                        int seed = m * 7 + k + (normBias ? 100 : 0);
                        var w = RandomData.Uniform(seed + 1, n * k);
                        // Rows far from zero mean and unit deviation, so that a norm left out or misapplied shows.
                        var x = RandomData.Uniform(seed, m * k, 3f).Select(v => v + 5f).ToArray();
                        using var xt = Upload(x, m, k);
                        using var gain = Upload(RandomData.Uniform(seed + 2, k, 2f), k);
                        using var shift = normBias ? Upload(RandomData.Uniform(seed + 3, k), k) : null;
                        using var wt = type == WeightType.F32 ? Upload(w, n, k) : Backend.UploadPacked(PackedMatrix.Pack(type, w, n, k));
                        using var bt = Upload(RandomData.Uniform(seed + 4, n), n);
                        using var normed = Backend.Allocate(m, k);
                        Backend.LayerNorm(xt, gain, shift, normed, 1e-5f);
                        using var expected = Backend.Allocate(m, n);
                        Backend.Linear(normed, wt, bt, expected, epilogue);
                        using var y = Backend.Allocate(m, n);
                        Backend.LayerNormLinear(xt, gain, shift, 1e-5f, wt, bt, y, epilogue);
                        RandomData.AssertClose(expected.ToArray(), y.ToArray(), 1e-5 * k, $"LayerNormLinear {epilogue} m={m} k={k} {type.Name()} norm bias={normBias}");
                    }
    }

    /// <summary>Planes: the plain product's blocks of W columns, each stored as a contiguous [M, W] (q, k, v of stacked weights).</summary>
    [SkippableFact]
    public void Linear_into_planes_stores_each_block_of_columns_as_a_plane()
    {
        SkipUnlessAvailable();
        const int width = 12, planes = 3, n = planes * width, k = 64;
        foreach (int m in new[] { 2, 5, 40 })
            foreach (var type in new[] { WeightType.F32, WeightType.Q4 })
            {
                var w = RandomData.Uniform(m + 1, n * k);
                using var xt = Upload(RandomData.Uniform(m, m * k), m, k);
                using var wt = type == WeightType.F32 ? Upload(w, n, k) : Backend.UploadPacked(PackedMatrix.Pack(type, w, n, k));
                using var bt = Upload(RandomData.Uniform(m + 2, n), n);
                using var plain = Backend.Allocate(m, n);
                Backend.Linear(xt, wt, bt, plain);
                using var y = Backend.Allocate(planes, m, width);
                Backend.Linear(xt, wt, bt, y, LinearEpilogue.Planes(width));
                var p = plain.ToArray();
                var expected = new float[planes * m * width];
                for (int plane = 0; plane < planes; plane++)
                    for (int row = 0; row < m; row++)
                        for (int c = 0; c < width; c++) expected[(plane * m + row) * width + c] = p[row * n + plane * width + c];
                Assert.Equal(expected, y.ToArray());
            }
    }

    [SkippableFact]
    public void Linear_handles_weights_larger_than_the_cache()
    {
        SkipUnlessAvailable();
        const int m = 3, n = 130, k = 600;
        var x = RandomData.Uniform(1, m * k);
        var w = RandomData.Uniform(2, n * k);
        using var y = Backend.Allocate(m, n);
        using var xt = Upload(x, m, k);
        using var wt = Upload(w, n, k);
        Backend.Linear(xt, wt, null, y);
        RandomData.AssertClose(NaiveOps.Linear(x, w, null, m, n, k), y.ToArray(), 1e-4, "Linear");
    }

    [SkippableFact]
    public void Conv1d_matches_the_reference()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 6), (1, 7), (1, 7), (1, 4), (1, 3), (0, 300), (0, 1000)), s =>
        {
            var (batch, cin, cout, kernel, stride, dilation, extra, seed) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            int tin = (kernel - 1) * dilation + 1 + extra;
            int tout = (tin - (kernel - 1) * dilation - 1) / stride + 1;
            var x = RandomData.Uniform(seed, batch * cin * tin);
            var w = RandomData.Uniform(seed + 1, cout * cin * kernel);
            var bias = RandomData.Uniform(seed + 2, cout);
            using var xt = Upload(x, batch, cin, tin);
            using var wt = Upload(w, cout, cin, kernel);
            using var bt = Upload(bias, cout);
            using var y = Backend.Allocate(batch, cout, tout);
            Backend.Conv1d(xt, wt, bt, y, stride, dilation);
            RandomData.AssertClose(NaiveOps.Conv1d(x, w, bias, batch, cin, tin, cout, kernel, stride, dilation), y.ToArray(), 1e-4, "Conv1d");
        }, cases: 60);
    }

    [SkippableFact]
    public void ConvTranspose1d_matches_the_reference_for_any_trim()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 6), (1, 5), (1, 9), (1, 5), (1, 40), (0, 100), (0, 100), (0, 1000)), s =>
        {
            var (batch, cin, cout, kernel, stride, tin) = (s[0], s[1], s[2], s[3], s[4], s[5]);
            var (trimA, trimB, seed) = (s[6], s[7], s[8]);
            int full = (tin - 1) * stride + kernel;
            int trimLeft = trimA % full, tout = 1 + trimB % (full - trimLeft);
            var x = RandomData.Uniform(seed, batch * cin * tin);
            var w = RandomData.Uniform(seed + 1, cin * cout * kernel);
            var bias = RandomData.Uniform(seed + 2, cout);
            using var xt = Upload(x, batch, cin, tin);
            using var wt = Upload(ConvTransposeWeights.ToPolyphase(w, cin, cout, kernel, stride), stride * cout, cin * ConvTransposeWeights.Taps(kernel, stride));
            using var bt = Upload(bias, cout);
            using var y = Backend.Allocate(batch, cout, tout);
            Backend.ConvTranspose1d(xt, wt, bt, y, stride, kernel, trimLeft);
            var reference = NaiveOps.ConvTranspose1d(x, w, bias, batch, cin, tin, cout, kernel, stride);
            var expected = new float[batch * cout * tout];
            for (int row = 0; row < batch * cout; row++)
                Array.Copy(reference, row * full + trimLeft, expected, row * tout, tout);
            RandomData.AssertClose(expected, y.ToArray(), 1e-4, "ConvTranspose1d");
        }, cases: 60);
    }

    [SkippableFact]
    public void ResidualUnit_matches_the_reference()
    {
        SkipUnlessAvailable();
        // Lengths up to 700 cross the CPU's 256-step tiles and 64-step panels; both padding modes, causal or split.
        Properties.ForAll(Properties.Ints((1, 2), (1, 20), (1, 9), (1, 4), (1, 3), (1, 700), (0, 3), (0, 1000)), s =>
        {
            var (batch, channels, narrow, kernel, dilation, length, variant, seed) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            int total = (kernel - 1) * dilation, left = variant % 2 == 0 ? total : total - total / 2;
            var mode = variant < 2 ? PadMode.Reflect : PadMode.Zero;
            var x = RandomData.Uniform(seed, batch * channels * length);
            var narrowWeight = RandomData.Uniform(seed + 1, narrow * channels * kernel);
            var narrowBias = RandomData.Uniform(seed + 2, narrow);
            var wideWeight = RandomData.Uniform(seed + 3, channels * narrow);
            var wideBias = RandomData.Uniform(seed + 4, channels);
            using var xt = Upload(x, batch, channels, length);
            using var nw = Upload(narrowWeight, narrow, channels, kernel);
            using var nb = Upload(narrowBias, narrow);
            using var ww = Upload(wideWeight, channels, narrow, 1);
            using var wb = Upload(wideBias, channels);
            using var y = Backend.Allocate(batch, channels, length);
            Backend.ResidualUnit(xt, nw, nb, ww, wb, y, dilation, left, total - left, mode);

            static float Elu(float v) => v > 0 ? v : (float)(Math.Exp(v) - 1);
            int padded = length + total;
            var activated = new float[batch * channels * padded];
            for (int row = 0; row < batch * channels; row++)
                for (int p = 0; p < padded; p++)
                {
                    int source = PadIndex.Source(p, length, left, total - left, mode);
                    activated[row * padded + p] = source < 0 ? 0f : Elu(x[row * length + source]);
                }
            var hidden = NaiveOps.Conv1d(activated, narrowWeight, narrowBias, batch, channels, padded, narrow, kernel, 1, dilation).Select(Elu).ToArray();
            var expected = NaiveOps.Conv1d(hidden, wideWeight, wideBias, batch, narrow, length, channels, 1, 1, 1);
            for (int i = 0; i < expected.Length; i++) expected[i] += x[i];
            RandomData.AssertClose(expected, y.ToArray(), Tolerance * channels * kernel * narrow, "ResidualUnit");
        }, cases: 40);
    }

    [SkippableFact]
    public void Conv1d_matches_the_reference_for_many_channels()
    {
        // Depths past one packed block, output rows past one row tile and several panels of output steps.
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 48), (1, 30), (1, 7), (1, 5), (1, 3), (0, 200), (0, 1000)), s =>
        {
            var (batch, cin, cout, kernel, stride, dilation, extra, seed) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            int tin = (kernel - 1) * dilation + 1 + extra;
            int tout = (tin - (kernel - 1) * dilation - 1) / stride + 1;
            var x = RandomData.Uniform(seed, batch * cin * tin);
            var w = RandomData.Uniform(seed + 1, cout * cin * kernel);
            var bias = seed % 3 == 0 ? null : RandomData.Uniform(seed + 2, cout);
            using var xt = Upload(x, batch, cin, tin);
            using var wt = Upload(w, cout, cin, kernel);
            using var bt = bias is null ? null : Upload(bias, cout);
            using var y = Backend.Allocate(batch, cout, tout);
            Backend.Conv1d(xt, wt, bt, y, stride, dilation);
            RandomData.AssertClose(NaiveOps.Conv1d(x, w, bias, batch, cin, tin, cout, kernel, stride, dilation), y.ToArray(), Tolerance * cin * kernel, "Conv1d");
        }, cases: 30);
    }

    [SkippableFact]
    public void ConvTranspose1d_matches_the_reference_for_many_channels()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 2), (1, 70), (1, 12), (1, 5), (1, 8), (1, 150), (0, 1000)), s =>
        {
            var (batch, cin, cout, taps, stride, tin, seed) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
            int kernel = taps * stride - seed % stride, full = (tin - 1) * stride + kernel;
            int total = kernel - stride, trimLeft = total - total / 2, tout = tin * stride;
            if (total < 0) (trimLeft, tout) = (0, full);
            var x = RandomData.Uniform(seed, batch * cin * tin);
            var w = RandomData.Uniform(seed + 1, cin * cout * kernel);
            var bias = RandomData.Uniform(seed + 2, cout);
            using var xt = Upload(x, batch, cin, tin);
            using var wt = Upload(ConvTransposeWeights.ToPolyphase(w, cin, cout, kernel, stride), stride * cout, cin * ConvTransposeWeights.Taps(kernel, stride));
            using var bt = Upload(bias, cout);
            using var y = Backend.Allocate(batch, cout, tout);
            Backend.ConvTranspose1d(xt, wt, bt, y, stride, kernel, trimLeft);
            var reference = NaiveOps.ConvTranspose1d(x, w, bias, batch, cin, tin, cout, kernel, stride);
            var expected = new float[batch * cout * tout];
            for (int row = 0; row < batch * cout; row++)
                Array.Copy(reference, row * full + trimLeft, expected, row * tout, tout);
            RandomData.AssertClose(expected, y.ToArray(), Tolerance * cin * taps, "ConvTranspose1d");
        }, cases: 30);
    }

    [SkippableFact]
    public void A_padded_convolution_gives_exactly_the_floats_of_padding_then_convolving()
    {
        SkipUnlessAvailable();
        // Long inputs reach whole panels inside the input as well as the edges; one output channel with stride 1
        // is the CPU's single-output path.
        Properties.ForAll(Properties.Ints((1, 2), (1, 5), (0, 6), (1, 7), (1, 4), (1, 3), (0, 300), (0, 8), (0, 8), (0, 1), (0, 1000)), s =>
        {
            var (batch, cin, kernel, stride, dilation, left, right, seed) = (s[0], s[1], s[3], s[4], s[5], s[7], s[8], s[10]);
            int cout = s[2] == 0 ? 1 : s[2], reach = (kernel - 1) * dilation;
            int tin = Math.Max(1, reach + 1 - left - right) + s[6];
            var mode = s[9] == 0 ? PadMode.Zero : PadMode.Reflect;
            int tout = (tin + left + right - reach - 1) / stride + 1;
            using var xt = Upload(RandomData.Uniform(seed, batch * cin * tin), batch, cin, tin);
            using var wt = Upload(RandomData.Uniform(seed + 1, cout * cin * kernel), cout, cin, kernel);
            using var bt = Upload(RandomData.Uniform(seed + 2, cout), cout);
            using var padded = Backend.Allocate(batch, cin, tin + left + right);
            using var expected = Backend.Allocate(batch, cout, tout);
            using var y = Backend.AllocateUninitialized(batch, cout, tout);
            Backend.Pad1d(xt, padded, left, right, mode);
            Backend.Conv1d(padded, wt, bt, expected, stride, dilation);
            Backend.PaddedConv1d(xt, wt, bt, y, stride, dilation, left, right, mode);
            Assert.Equal(expected.ToArray(), y.ToArray());
        }, cases: 80);
    }

    [SkippableFact]
    public void Pad1d_reflects_like_encodec_even_for_short_input()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 12), (0, 15), (0, 15), (0, 1000)), s =>
        {
            var (length, left, right, seed) = (s[0], s[1], s[2], s[3]);
            var x = RandomData.Uniform(seed, 2 * length);
            using var xt = Upload(x, 2, length);
            using var reflect = Backend.Allocate(2, length + left + right);
            using var zero = Backend.Allocate(2, length + left + right);
            Backend.Pad1d(xt, reflect, left, right, PadMode.Reflect);
            Backend.Pad1d(xt, zero, left, right, PadMode.Zero);
            var expectedReflect = NaiveOps.ReflectPad(x[..length], left, right).Concat(NaiveOps.ReflectPad(x[length..], left, right)).ToArray();
            var row = new float[left].Concat(x[..length]).Concat(new float[right]);
            var expectedZero = row.Concat(new float[left]).Concat(x[length..]).Concat(new float[right]).ToArray();
            Assert.Equal(expectedReflect, reflect.ToArray());
            Assert.Equal(expectedZero, zero.ToArray());
        });
    }

    [SkippableFact]
    public void Norms_softmax_and_activations_match_the_reference()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 5), (1, 70), (0, 1000)), s =>
        {
            var (rows, d, seed) = (s[0], s[1], s[2]);
            var x = RandomData.Uniform(seed, rows * d, 4f);
            var w = RandomData.Uniform(seed + 1, d);
            var b = RandomData.Uniform(seed + 2, d);
            using var xt = Upload(x, rows, d);
            using var wt = Upload(w, d);
            using var bt = Upload(b, d);
            using var y = Backend.Allocate(rows, d);
            Backend.LayerNorm(xt, wt, bt, y, 1e-5f);
            RandomData.AssertClose(NaiveOps.LayerNorm(x, w, b, d, 1e-5), y.ToArray(), 1e-4, "LayerNorm");
            Backend.RmsNorm(xt, wt, y, 1e-6f);
            RandomData.AssertClose(NaiveOps.RmsNorm(x, w, d, 1e-6), y.ToArray(), 1e-5, "RmsNorm");
            Backend.Softmax(xt, y);
            RandomData.AssertClose(NaiveOps.Softmax(x, d), y.ToArray(), 1e-6, "Softmax");

            var activations = new (ActivationKind Kind, Func<double, double> F)[]
            {
                (ActivationKind.Relu, v => Math.Max(v, 0)),
                (ActivationKind.Elu, v => v > 0 ? v : Math.Exp(v) - 1),
                (ActivationKind.Gelu, v => 0.5 * v * (1 + MathNet.Numerics.SpecialFunctions.Erf(v / Math.Sqrt(2)))),
                (ActivationKind.GeluTanh, v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))),
            };
            foreach (var (kind, f) in activations)
            {
                Backend.Activation(xt, y, kind);
                RandomData.AssertClose(x.Select(v => (float)f(v)).ToArray(), y.ToArray(), 1e-6, kind.ToString());
            }
        });
    }

    [SkippableFact]
    public void Elementwise_gather_copy_and_transpose_match_the_reference()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 6), (1, 40), (0, 1000)), s =>
        {
            var (rows, d, seed) = (s[0], s[1], s[2]);
            var a = RandomData.Uniform(seed, rows * d);
            var b = RandomData.Uniform(seed + 1, rows * d);
            using var at = Upload(a, rows, d);
            using var bt = Upload(b, rows, d);
            using var y = Backend.Allocate(rows, d);
            Backend.Add(at, bt, y);
            Assert.Equal(a.Zip(b, (p, q) => p + q).ToArray(), y.ToArray());
            Backend.Multiply(at, bt, y);
            Assert.Equal(a.Zip(b, (p, q) => p * q).ToArray(), y.ToArray());
            var scales = Enumerable.Range(0, rows).Select(r => r - 1.5f).ToArray();
            Backend.ScaleRows(at, scales, y);
            Assert.Equal(a.Select((v, i) => v * scales[i / d]).ToArray(), y.ToArray());

            var ids = Enumerable.Range(0, rows + 2).Select(i => (i * 7 + seed) % rows).ToArray();
            using var gathered = Backend.Allocate(ids.Length, d);
            Backend.Gather(at, ids, gathered);
            var expected = ids.SelectMany(id => a.Skip(id * d).Take(d)).ToArray();
            Assert.Equal(expected, gathered.ToArray());
            Backend.Gather(at, ids, gathered, scale: -2f, accumulate: true);
            RandomData.AssertClose(expected.Select(v => -v).ToArray(), gathered.ToArray(), 1e-6, "Gather accumulate");

            using var transposed = Backend.Allocate(d, rows);
            Backend.Transpose(at.Reshape(1, rows, d), transposed.Reshape(1, d, rows));
            var t = transposed.ToArray();
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < d; c++)
                    Assert.Equal(a[r * d + c], t[c * rows + r]);

            using var target = Backend.Allocate(rows, d + 3);
            Backend.CopyBlocks(at, 0, d, target, 2, d + 3, d, rows);
            var copied = target.ToArray();
            for (int r = 0; r < rows; r++)
                Assert.Equal(a.Skip(r * d).Take(d), copied.Skip(r * (d + 3) + 2).Take(d));
        });
    }

    [SkippableFact]
    public void Attention_matches_the_reference_with_every_kind_of_mask()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 3), (1, 5), (1, 12), (1, 3), (1, 20), (0, 5), (0, 1000), (0, 7)), s =>
        {
            var (batch, queries, keys, heads, headDim, spareRows, seed, flags) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            bool causal = (flags & 1) != 0, withBias = (flags & 2) != 0, withMask = (flags & 4) != 0;
            int width = heads * headDim, keyRows = keys + spareRows;
            int offset = causal ? Math.Max(0, keys - queries) : 0;
            var q = RandomData.Uniform(seed, batch * queries * width, 2f);
            var k = RandomData.Uniform(seed + 1, batch * keyRows * width, 2f);
            var v = RandomData.Uniform(seed + 2, batch * keyRows * width);
            var bias = withBias ? RandomData.Uniform(seed + 3, heads * queries * keys) : null;
            // Row 0 of the mask is fully masked: the reference then averages all values uniformly.
            var mask = withMask ? Enumerable.Range(0, batch * keys).Select(i => i < keys ? 0f : (i * 5 + seed) % 3 == 0 ? 0f : 1f).ToArray() : null;
            using var qt = Upload(q, batch, queries, width);
            using var kt = Upload(k, batch, keyRows, width);
            using var vt = Upload(v, batch, keyRows, width);
            using var bt = bias is null ? null : Upload(bias, heads, queries, keys);
            using var mt = mask is null ? null : Upload(mask, batch, keys);
            using var output = Backend.Allocate(batch, queries, width);
            float scale = 1f / MathF.Sqrt(headDim);
            Backend.Attention(qt, kt, vt, output, new AttentionOptions(heads, scale, keys, causal, offset, bt, mt));
            var expected = NaiveOps.Attention(q, k, v, batch, queries, keyRows, keys, heads, headDim, scale, causal, offset, bias, mask);
            RandomData.AssertClose(expected, output.ToArray(), 1e-5, "Attention");
        });
    }

    [SkippableFact]
    public void Attention_over_a_float16_cache_matches_the_reference_over_the_rounded_keys_and_values()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 3), (1, 5), (1, 12), (1, 3), (1, 20), (0, 5), (0, 1000), (0, 1)), s =>
        {
            var (batch, queries, keys, heads, headDim, spareRows, seed, causalFlag) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            bool causal = causalFlag != 0;
            int width = heads * headDim, keyRows = keys + spareRows, first = keys / 2;
            int offset = causal ? Math.Max(0, keys - queries) : 0;
            var q = RandomData.Uniform(seed, batch * queries * width, 2f);
            var k = RandomData.Uniform(seed + 1, batch * keys * width, 2f);
            var v = RandomData.Uniform(seed + 2, batch * keys * width);
            using var qt = Upload(q, batch, queries, width);
            using var kt = Upload(k, batch, keys, width);
            using var vt = Upload(v, batch, keys, width);
            using var keyCache = Backend.AllocateCache(WeightType.F16, batch, keyRows, width);
            using var valueCache = Backend.AllocateCache(WeightType.F16, batch, keyRows, width);
            // Filled as the decoder's cache is, positions [0, first) and then the rest, each after the cached ones.
            foreach (var (cache, source) in new[] { (keyCache, kt), (valueCache, vt) })
            {
                Backend.CopyBlocks(source, 0, (long)keys * width, cache, 0, (long)keyRows * width, first * width, batch);
                Backend.CopyBlocks(source, (long)first * width, (long)keys * width, cache, (long)first * width, (long)keyRows * width, (keys - first) * width, batch);
            }
            using var output = Backend.Allocate(batch, queries, width);
            float scale = 1f / MathF.Sqrt(headDim);
            Backend.Attention(qt, keyCache, valueCache, output, new AttentionOptions(heads, scale, keys, causal, offset));
            var expected = NaiveOps.Attention(q, Padded(RoundedToHalf(k)), Padded(RoundedToHalf(v)), batch, queries, keyRows, keys, heads, headDim,
                scale, causal, offset, null, null);
            RandomData.AssertClose(expected, output.ToArray(), 1e-5, "Attention over float16");

            float[] Padded(float[] rows) => Enumerable.Range(0, batch)
                .SelectMany(b => rows.Skip(b * keys * width).Take(keys * width).Concat(new float[spareRows * width])).ToArray();
        });
    }

    [SkippableFact]
    public void A_float16_cache_holds_each_value_rounded_to_the_nearest_float16()
    {
        SkipUnlessAvailable();
        // One key: the attention output is that key's value row itself. Values span float16's normal and
        // subnormal range; the first 64 lie exactly halfway between two neighbouring float16s (ties go to even).
        var values = RandomData.Uniform(7, 4096).Select((x, i) => x * MathF.Pow(10, i % 10 - 7)).ToArray();
        for (int i = 0; i < 64; i++)
        {
            short bits = (short)(i * 331);
            values[i] = ((float)BitConverter.Int16BitsToHalf(bits) + (float)BitConverter.Int16BitsToHalf((short)(bits + 1))) / 2;
        }
        using var source = Upload(values, 1, 1, values.Length);
        using var cache = Backend.AllocateCache(WeightType.F16, 1, 1, values.Length);
        Backend.CopyBlocks(source, 0, values.Length, cache, 0, values.Length, values.Length, 1);
        using var query = Upload(new float[values.Length], 1, 1, values.Length);
        using var output = Backend.Allocate(1, 1, values.Length);
        Backend.Attention(query, cache, cache, output, new AttentionOptions(values.Length / 256, 1f, 1));
        Assert.Equal(RoundedToHalf(values), output.ToArray());
    }

    private static float[] RoundedToHalf(float[] values) => values.Select(x => (float)(Half)x).ToArray();

    [SkippableFact]
    public void Attention_over_a_q8_cache_appended_in_pieces_matches_the_reference_over_the_dequantized_keys_and_values()
    {
        SkipUnlessAvailable();
        // Rows of 1 to 3 blocks; head dimensions from 2 to 96: multiples of 16, of 8 only, of 4 only (12, 4), and
        // neither (2, 6: a head's run of 4 then crosses the end of a block).
        int[] headCounts = [1, 2, 3, 4, 8, 16];
        Properties.ForAll(Properties.Ints((1, 3), (1, 5), (1, 14), (1, 3), (0, 5), (0, 5), (0, 1000), (0, 1)), s =>
        {
            var (batch, queries, keys, blocks, headChoice, spareRows, seed, causalFlag) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            bool causal = causalFlag != 0;
            int width = blocks * PackedMatrix.BlockSize, heads = width % headCounts[headChoice] == 0 ? headCounts[headChoice] : 2;
            int headDim = width / heads, keyRows = keys + spareRows;
            int offset = causal ? Math.Max(0, keys - queries) : 0;
            var q = RandomData.Uniform(seed, batch * queries * width, 2f);
            var k = RandomData.Uniform(seed + 1, batch * keys * width, 2f);
            var v = RandomData.Uniform(seed + 2, batch * keys * width);
            using var qt = Upload(q, batch, queries, width);
            using var kt = Upload(k, batch, keys, width);
            using var vt = Upload(v, batch, keys, width);
            using var keyCache = Backend.AllocateCache(WeightType.Q8, batch, keyRows, width);
            using var valueCache = Backend.AllocateCache(WeightType.Q8, batch, keyRows, width);
            // Appended as the decoder appends: a prefix, then one position, then the rest, each after the cached ones.
            int[] ends = [keys / 2, Math.Min(keys, keys / 2 + 1), keys];
            foreach (var (cache, source) in new[] { (keyCache, kt), (valueCache, vt) })
                for (int piece = 0, start = 0; piece < ends.Length; start = ends[piece++])
                    Backend.CopyBlocks(source, (long)start * width, (long)keys * width, cache, (long)start * width, (long)keyRows * width, (ends[piece] - start) * width, batch);
            using var output = Backend.Allocate(batch, queries, width);
            float scale = 1f / MathF.Sqrt(headDim);
            Backend.Attention(qt, keyCache, valueCache, output, new AttentionOptions(heads, scale, keys, causal, offset));
            var expected = NaiveOps.Attention(q, Padded(Dequantized(k, width)), Padded(Dequantized(v, width)), batch, queries, keyRows, keys, heads, headDim,
                scale, causal, offset, null, null);
            RandomData.AssertClose(expected, output.ToArray(), 1e-5, $"Attention over q8 (heads {heads} of {headDim})");

            float[] Padded(float[] rows) => Enumerable.Range(0, batch)
                .SelectMany(b => rows.Skip(b * keys * width).Take(keys * width).Concat(new float[spareRows * width])).ToArray();
        });
    }

    /// <summary>
    /// AppendAndAttend against CopyBlocks of the new rows then Attention on this backend, step after step as the
    /// decoder appends (a prompt of many queries, then single positions, then two): every cache type, heads whose
    /// q8 blocks span two heads (head dimension 16) and whole blocks (64). Each step also attends over the rows the
    /// earlier steps appended, so a row written wrong in any head shows in a later output. The same kernels read the
    /// same rounded values, so the outputs are equal.
    /// </summary>
    [SkippableFact]
    public void AppendAndAttend_equals_copying_the_new_rows_then_attending()
    {
        SkipUnlessAvailable();
        const int batch = 2, width = 64, rows = 24;
        int[] steps = [12, 1, 1, 2, 3];
        foreach (var type in DecoderCache.Types)
            foreach (int heads in new[] { 4, 1 })
            {
                using var fusedKeys = Backend.AllocateCache(type, batch, rows, width);
                using var fusedValues = Backend.AllocateCache(type, batch, rows, width);
                using var keyCache = Backend.AllocateCache(type, batch, rows, width);
                using var valueCache = Backend.AllocateCache(type, batch, rows, width);
                int offset = 0;
                foreach (int queries in steps)
                {
                    int seed = offset * 10 + heads + (int)type * 100;
                    using var q = Upload(RandomData.Uniform(seed, batch * queries * width, 2f), batch, queries, width);
                    using var keys = Upload(RandomData.Uniform(seed + 1, batch * queries * width, 2f), batch, queries, width);
                    using var values = Upload(RandomData.Uniform(seed + 2, batch * queries * width), batch, queries, width);
                    var options = new AttentionOptions(heads, 1f / MathF.Sqrt(width / heads), offset + queries, Causal: true, QueryOffset: offset);
                    using var expected = Backend.Allocate(batch, queries, width);
                    Backend.CopyBlocks(keys, 0, (long)queries * width, keyCache, (long)offset * width, (long)rows * width, queries * width, batch);
                    Backend.CopyBlocks(values, 0, (long)queries * width, valueCache, (long)offset * width, (long)rows * width, queries * width, batch);
                    Backend.Attention(q, keyCache, valueCache, expected, options);
                    using var output = Backend.Allocate(batch, queries, width);
                    Backend.AppendAndAttend(q, keys, values, fusedKeys, fusedValues, output, options);
                    Assert.True(expected.ToArray().SequenceEqual(output.ToArray()), $"AppendAndAttend {type.Name()} cache, {heads} heads, {queries} queries at {offset}");
                    offset += queries;
                }
            }
    }

    [SkippableFact]
    public void Attention_over_a_q8_cache_with_heads_of_64_and_many_keys_matches_the_reference_within_the_querys_rounding()
    {
        SkipUnlessAvailable();
        // MusicGen's heads (64: two blocks) and whole tiles of 16 keys and more, after which the CPU (with AVX-VNNI)
        // multiplies the query rounded to q8 blocks with the keys in integers: its error is the query's rounding.
        Properties.ForAll(Properties.Ints((1, 2), (1, 2), (1, 3), (16, 50), (0, 3), (0, 1000)), s =>
        {
            var (batch, queries, heads, keys, spareRows, seed) = (s[0], s[1], s[2], s[3], s[4], s[5]);
            int width = heads * 64, keyRows = keys + spareRows, offset = keys - queries;
            var q = RandomData.Uniform(seed, batch * queries * width, 2f);
            var k = RandomData.Uniform(seed + 1, batch * keys * width, 2f);
            var v = RandomData.Uniform(seed + 2, batch * keys * width);
            using var qt = Upload(q, batch, queries, width);
            using var kt = Upload(k, batch, keys, width);
            using var vt = Upload(v, batch, keys, width);
            using var keyCache = Backend.AllocateCache(WeightType.Q8, batch, keyRows, width);
            using var valueCache = Backend.AllocateCache(WeightType.Q8, batch, keyRows, width);
            Backend.CopyBlocks(kt, 0, (long)keys * width, keyCache, 0, (long)keyRows * width, keys * width, batch);
            Backend.CopyBlocks(vt, 0, (long)keys * width, valueCache, 0, (long)keyRows * width, keys * width, batch);
            using var output = Backend.Allocate(batch, queries, width);
            Backend.Attention(qt, keyCache, valueCache, output, new AttentionOptions(heads, 0.125f, keys, true, offset));
            var expected = NaiveOps.Attention(q, Padded(Dequantized(k, width)), Padded(Dequantized(v, width)), batch, queries, keyRows, keys, heads, 64,
                0.125f, true, offset, null, null);
            RandomData.AssertClose(expected, output.ToArray(), 1e-2, $"Attention over q8 ({heads} heads of 64, {keys} keys)");

            float[] Padded(float[] rows) => Enumerable.Range(0, batch)
                .SelectMany(b => rows.Skip(b * keys * width).Take(keys * width).Concat(new float[spareRows * width])).ToArray();
        }, cases: 30);
    }

    [SkippableFact]
    public void A_q8_cache_holds_each_block_as_a_q8_weight_row_quantizes_it()
    {
        SkipUnlessAvailable();
        // One key: the attention output is that key's value row itself. Blocks of magnitudes from 1e-30 to 1e30 and
        // sizes of a few blocks; block 0's scale is 1 and block 1's 0.5, so its values · (1 / scale) are exact
        // halves that round to even; block 2 is zeros, block 3 one value and zeros.
        var values = RandomData.Uniform(11, 4096).Select((x, i) => x * MathF.Pow(10, (i / PackedMatrix.BlockSize % 13 - 6) * 5)).ToArray();
        float[] ties = [127f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 125.5f, -126.5f, 3.5f, 4.5f, -64.5f];
        for (int i = 0; i < PackedMatrix.BlockSize; i++)
        {
            values[i] = i < ties.Length ? ties[i] : (i % 7 - 3) + 0.5f;
            values[PackedMatrix.BlockSize + i] = values[i] / 2;
            values[2 * PackedMatrix.BlockSize + i] = 0f;
            values[3 * PackedMatrix.BlockSize + i] = i == 5 ? -3e-7f : 0f;
        }
        using var source = Upload(values, 1, 1, values.Length);
        using var cache = Backend.AllocateCache(WeightType.Q8, 1, 1, values.Length);
        Backend.CopyBlocks(source, 0, values.Length, cache, 0, values.Length, values.Length, 1);
        using var query = Upload(new float[values.Length], 1, 1, values.Length);
        using var output = Backend.Allocate(1, 1, values.Length);
        Backend.Attention(query, cache, cache, output, new AttentionOptions(values.Length / 256, 1f, 1));
        Assert.Equal(Dequantized(values, values.Length), output.ToArray());
    }

    /// <summary>Rows of <paramref name="width"/> as a q8 weight matrix holds them: the reference of the q8 cache.</summary>
    private static float[] Dequantized(float[] rows, int width) => PackedMatrix.Pack(WeightType.Q8, rows, rows.Length / width, width).Decode();

    [SkippableFact]
    public void A_q8_cache_refuses_rows_and_copies_that_are_not_whole_blocks()
    {
        SkipUnlessAvailable();
        Assert.Throws<ArgumentException>(() => Backend.AllocateCache(WeightType.Q8, 1, 2, 48));
        Assert.Throws<ArgumentException>(() => Backend.AllocateCache(WeightType.Q4, 1, 2, 64));
        using var source = Upload(new float[128], 2, 64);
        using var cache = Backend.AllocateCache(WeightType.Q8, 1, 2, 64);
        Assert.Throws<ArgumentException>(() => Backend.CopyBlocks(source, 0, 64, cache, 16, 64, 32, 2));
        Assert.Throws<ArgumentException>(() => Backend.CopyBlocks(source, 0, 64, cache, 0, 64, 48, 2));
    }

    [SkippableFact]
    public void Lstm_steps_match_a_whole_reference_layer()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 3), (1, 9), (1, 12), (0, 1000)), s =>
        {
            var (batch, steps, hidden, seed) = (s[0], s[1], s[2], s[3]);
            var x = RandomData.Uniform(seed, batch * steps * hidden);
            var wih = RandomData.Uniform(seed + 1, 4 * hidden * hidden, 0.5f);
            var whh = RandomData.Uniform(seed + 2, 4 * hidden * hidden, 0.5f);
            var bih = RandomData.Uniform(seed + 3, 4 * hidden);
            var bhh = RandomData.Uniform(seed + 4, 4 * hidden);
            using var xt = Upload(x, batch * steps, hidden);
            using var wihT = Upload(wih, 4 * hidden, hidden);
            using var whhT = Upload(whh, 4 * hidden, hidden);
            using var bias = Upload(bih.Zip(bhh, (p, q) => p + q).ToArray(), 4 * hidden);
            using var gates = Backend.Allocate(batch, steps, 4 * hidden);
            using var cell = Backend.Allocate(batch, hidden);
            using var output = Backend.Allocate(batch, steps, hidden);
            Backend.Linear(xt, wihT, bias, gates.Reshape(batch * steps, 4 * hidden));
            for (int t = 0; t < steps; t++) Backend.LstmStep(gates, whhT, cell, output, t);
            RandomData.AssertClose(NaiveOps.Lstm(x, wih, whh, bih, bhh, batch, steps, hidden, hidden), output.ToArray(), 1e-5, "LSTM");
        }, cases: 50);
    }

    [SkippableFact]
    public void An_uninitialized_tensor_in_place_of_a_freed_one_holds_exactly_what_an_operation_writes()
    {
        SkipUnlessAvailable();
        // A megabyte and more: the CPU backend reuses such arrays without clearing them.
        int[] shape = [2, 3, 1 << 16];
        var values = RandomData.Uniform(5, 2 * 3 * (1 << 16));
        using var input = Upload(values, shape);
        using (var previous = Upload(RandomData.Uniform(6, values.Length), shape)) { }
        using var output = Backend.AllocateUninitialized(shape);
        Assert.Equal(shape, output.ShapeArray());
        Backend.Activation(input, output, ActivationKind.Elu);
        using var expected = Backend.Allocate(shape);
        Backend.Activation(input, expected, ActivationKind.Elu);
        Assert.Equal(expected.ToArray(), output.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(PackedProducts))]
    public void Lstm_steps_with_a_packed_recurrent_matrix_match_the_decoded_matrix(WeightType type, ProductPath path)
    {
        SkipUnlessAvailable();
        // The batch rows are the recurrent product's rows; q8, q4 need whole blocks of 32.
        Properties.ForAll(Properties.Ints(RowsFor(path), (1, 5), (1, 40), (0, 1000)), s =>
        {
            var (batch, steps, seed) = (s[0], s[1], s[3]);
            int hidden = type is WeightType.Q8 or WeightType.Q4 ? 32 * (1 + s[2] % 2) : s[2];
            var gateValues = RandomData.Uniform(seed, batch * steps * 4 * hidden);
            var packed = PackedMatrix.Pack(type, RandomData.Uniform(seed + 1, 4 * hidden * hidden, 0.3f), 4 * hidden, hidden);
            var decoded = packed.Decode();
            using var whh = Backend.UploadPacked(packed);
            using var whhDecoded = Upload(decoded, 4 * hidden, hidden);
            float[] Run(Tensor recurrentWeight)
            {
                using var gates = Upload(gateValues, batch, steps, 4 * hidden);
                using var cell = Backend.Allocate(batch, hidden);
                using var output = Backend.Allocate(batch, steps, hidden);
                for (int t = 0; t < steps; t++) Backend.LstmStep(gates, recurrentWeight, cell, output, t);
                return output.ToArray().Concat(cell.ToArray()).ToArray();
            }
            RandomData.AssertClose(Run(whhDecoded), Run(whh), 1e-5, $"LSTM {type.Name()} batch={batch} hidden={hidden}");
        }, cases: 20);
    }

    [SkippableFact]
    public void Memory_counts_weights_and_tensors_by_their_stored_bytes_until_they_are_disposed()
    {
        SkipUnlessAvailable();
        // Sizes above the CPU pool's minimum (1 MiB), so that the pooled arrays are counted too.
        const int rows = 256, columns = 1536;
        var before = Backend.Memory;
        var packed = PackedMatrix.Pack(WeightType.Q4, RandomData.Uniform(1, rows * columns), rows, columns);
        using (var adopted = Backend.Adopt(RandomData.Uniform(2, rows * columns), rows, columns))
        using (var matrix = Backend.UploadPacked(packed))
        using (var cache = Backend.AllocateCache(WeightType.F16, rows, columns))
        using (var q8Cache = Backend.AllocateCache(WeightType.Q8, rows, columns))
        using (var activations = Backend.AllocateUninitialized(rows, columns))
        using (var input = Backend.Upload(RandomData.Uniform(3, columns), 1, columns))
        {
            var held = Backend.Memory;
            Assert.Equal(4L * rows * columns + packed.Data.Length, held.Weights - before.Weights);
            Assert.Equal(2L * rows * columns + WeightType.Q8.ByteCount(1, rows * columns) + 4L * rows * columns + 4L * columns, held.Tensors - before.Tensors);
        }
        Assert.Equal(before with { Scratch = 0 }, Backend.Memory with { Scratch = 0 });
    }

    [SkippableFact]
    public void NearestCodes_picks_the_nearest_codebook_row()
    {
        SkipUnlessAvailable();
        Properties.ForAll(Properties.Ints((1, 40), (1, 70), (1, 9), (0, 1000)), s =>
        {
            var (rows, size, d, seed) = (s[0], s[1], s[2], s[3]);
            var x = RandomData.Uniform(seed, rows * d);
            var codebook = RandomData.Uniform(seed + 1, size * d);
            using var xt = Upload(x, rows, d);
            using var ct = Upload(codebook, size, d);
            var codes = new int[rows];
            Backend.NearestCodes(xt, ct, codes);
            for (int r = 0; r < rows; r++) NaiveOps.AssertNearest(x, r, codebook, size, d, codes[r]);
        });
    }
}

public sealed class CpuBackendOpsTests : BackendOpsTests
{
    protected override IBackend Backend { get; } = new CpuBackend();

    /// <summary>The float32 products that CPUs without integer dot products run, on every machine.</summary>
    [Theory]
    [InlineData(WeightType.Q8, ProductPath.Skinny)]
    [InlineData(WeightType.Q8, ProductPath.Tiled)]
    [InlineData(WeightType.Q4, ProductPath.Skinny)]
    [InlineData(WeightType.Q4, ProductPath.Tiled)]
    public void Linear_with_packed_weights_and_float_products_matches_the_decoded_weights(WeightType type, ProductPath path)
    {
        using var backend = new CpuBackend(integerProducts: false);
        Assert.False(backend.Capabilities.IntegerProducts);
        AssertPackedLinearMatchesTheDecodedWeights(backend, type, roundsActivations: false, RowsFor(path));
    }

    /// <summary>
    /// The CPU's products finish their epilogue on each core's share of the columns, and its integer products
    /// normalize rows as they quantize them; since the CPU defines what the GPU kernels are tested against, both must
    /// give exactly the floats of the separate operations: LayerNorm, the plain product, then Add, Activation or the
    /// planes' copies.
    /// </summary>
    [Fact]
    public void Fused_epilogues_and_norms_equal_the_separate_operations_exactly()
    {
        WeightType[] types = [WeightType.F32, WeightType.F16, WeightType.Q8, WeightType.Q4];
        LinearEpilogue[] epilogues = [LinearEpilogue.Store, LinearEpilogue.Accumulate, LinearEpilogue.Then(ActivationKind.Gelu), LinearEpilogue.Then(ActivationKind.Relu)];
        Properties.ForAll(Properties.Ints((1, 20), (1, 3), (1, 40), (1, 3), (0, 3), (0, 4), (0, 3), (0, 1000)), s =>
        {
            var (m, planes, width, blocks, type, epilogueIndex, flags, seed) = (s[0], s[1], s[2], s[3], types[s[4]], s[5], s[6], s[7]);
            int n = planes * width, k = 32 * blocks;
            var epilogue = epilogueIndex < epilogues.Length ? epilogues[epilogueIndex] : LinearEpilogue.Planes(width);
            bool normed = (flags & 1) != 0, withBias = (flags & 2) != 0;
            var w = RandomData.Uniform(seed + 1, n * k);
            using var x = Backend.Upload(RandomData.Uniform(seed, m * k, 3f).Select(v => v + 2f).ToArray(), m, k);
            using var gain = Backend.Upload(RandomData.Uniform(seed + 2, k, 2f), k);
            using var shift = Backend.Upload(RandomData.Uniform(seed + 3, k), k);
            using var weight = type == WeightType.F32 ? Backend.Upload(w, n, k) : Backend.UploadPacked(PackedMatrix.Pack(type, w, n, k));
            using var bias = withBias ? Backend.Upload(RandomData.Uniform(seed + 4, n), n) : null;
            var initial = RandomData.Uniform(seed + 5, m * n);

            using var input = Backend.Allocate(m, k);
            if (normed) Backend.LayerNorm(x, gain, shift, input, 1e-5f);
            else Backend.CopyBlocks(x, 0, 0, input, 0, 0, m * k, 1);
            using var plain = Backend.Allocate(m, n);
            Backend.Linear(input, weight, bias, plain);
            var product = plain.ToArray();
            using var separate = Backend.Upload(initial, m, n);
            if (epilogue.Accumulates) Backend.Add(separate, plain, separate);
            else if (epilogue.Activation is { } kind) Backend.Activation(plain, separate, kind);
            else if (epilogue.PlaneWidth == 0) Backend.CopyBlocks(plain, 0, 0, separate, 0, 0, m * n, 1);
            else
                for (int plane = 0; plane < planes; plane++)
                    Backend.CopyBlocks(plain, plane * width, n, separate, plane * m * width, width, width, m);

            using var fused = Backend.Upload(initial, m, n);
            if (normed) Backend.LayerNormLinear(x, gain, shift, 1e-5f, weight, bias, fused, epilogue);
            else Backend.Linear(x, weight, bias, fused, epilogue);
            Assert.True(separate.ToArray().SequenceEqual(fused.ToArray()), $"{epilogue} m={m} n={n} k={k} {type.Name()} norm={normed} bias={withBias}");
        }, cases: 200);
    }

    [Fact]
    public void Fused_residual_unit_equals_the_separate_operations_exactly()
    {
        // Golden cases and streamed audio rely on the fused block giving the same floats as the layers it replaces.
        Properties.ForAll(Properties.Ints((1, 2), (1, 70), (1, 40), (1, 600), (0, 1000)), s =>
        {
            var (batch, channels, narrow, length, seed) = (s[0], s[1], s[2], s[3], s[4]);
            using var x = Backend.Upload(RandomData.Uniform(seed, batch * channels * length), batch, channels, length);
            using var nw = Backend.Upload(RandomData.Uniform(seed + 1, narrow * channels * 3), narrow, channels, 3);
            using var nb = Backend.Upload(RandomData.Uniform(seed + 2, narrow), narrow);
            using var ww = Backend.Upload(RandomData.Uniform(seed + 3, channels * narrow), channels, narrow, 1);
            using var wb = Backend.Upload(RandomData.Uniform(seed + 4, channels), channels);
            using var fused = Backend.Allocate(batch, channels, length);
            using var steps = Backend.Allocate(batch, channels, length);
            Backend.ResidualUnit(x, nw, nb, ww, wb, fused, 1, 1, 1, PadMode.Reflect);
            Backend.ResidualUnitInSteps(x, nw, nb, ww, wb, steps, 1, 1, 1, PadMode.Reflect);
            Assert.Equal(steps.ToArray(), fused.ToArray());
        }, cases: 25);
    }
}

[Collection(OpenClCollection.Name)]
public sealed class OpenClBackendOpsTests(OpenClFixture fixture) : BackendOpsTests
{
    protected override IBackend Backend => fixture.Backend;

    protected override void SkipUnlessAvailable() => OpenClAvailability.SkipUnlessAvailable();
}

[Collection(IlgpuCollection.Name)]
public sealed class IlgpuBackendOpsTests(IlgpuFixture fixture) : BackendOpsTests
{
    protected override IBackend Backend => fixture.Backend;
}
