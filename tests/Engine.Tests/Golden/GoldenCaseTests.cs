using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Verification;
using MusicGen.Loaders.Checkpoints;
using Xunit.Abstractions;

namespace MusicGen.Tests.Golden;

/// <summary>Every golden case through the verifier: every tensor of every implemented component within tolerance.</summary>
public class GoldenCaseTests
{
    private readonly ITestOutputHelper _output;

    public GoldenCaseTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string folder in TestPaths.GoldenCases()) data.Add(Path.GetFileName(folder));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_implemented_tensor_matches_the_reference(string caseName)
    {
        using var backend = new CpuBackend();
        AssertEveryTensorMatches(backend, caseName, _output);
    }

    /// <summary>
    /// The golden-case check every backend runs: every tensor the case holds is implemented and within its
    /// tolerance, and the case's models and caches are freed afterwards (scratch kept for reuse may have grown).
    /// </summary>
    internal static void AssertEveryTensorMatches(IBackend backend, string caseName, ITestOutputHelper output)
    {
        var before = backend.Memory;
        var report = new Verifier(backend).Run(TestPaths.Golden(caseName));
        foreach (var row in report.Rows)
            output.WriteLine($"{row.Name} {row.Shape} err={row.MaxAbsError:E3} tol={row.Tolerance:E3} {(row.Passed ? "pass" : "FAIL " + row.Note)}");
        Assert.True(report.Rows.Count > 0, "no tensor was checked");
        Assert.Empty(report.NotImplemented);
        Assert.True(report.Failed == 0, $"{report.Failed} tensors failed: {string.Join(", ", report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name} (err {r.MaxAbsError:E3}, tol {r.Tolerance:E3}{(r.Note is null ? "" : ", " + r.Note)})"))}");
        Assert.Equal(before with { Scratch = 0 }, backend.Memory with { Scratch = 0 });
    }

    /// <summary>Every MusicGen and long-form case with every low-precision weight type (and its default cache type).</summary>
    public static TheoryData<string, WeightType> LowPrecisionCases() => GenerationCases(WeightTypes.All.Where(t => t != WeightType.F32));

    /// <summary>Every MusicGen and long-form case with every low-precision key/value cache type, beside float32 weights.</summary>
    public static TheoryData<string, WeightType> LowPrecisionCacheCases() => GenerationCases(DecoderCache.Types.Where(t => t != WeightType.F32));

    private static TheoryData<string, WeightType> GenerationCases(IEnumerable<WeightType> types)
    {
        var data = new TheoryData<string, WeightType>();
        foreach (string folder in TestPaths.GoldenCases().Where(f => Path.GetFileName(f) is var name
            && (name.StartsWith("musicgen-", StringComparison.Ordinal) || name.StartsWith("longform-", StringComparison.Ordinal))))
            foreach (var type in types)
                data.Add(Path.GetFileName(folder), type);
        return data;
    }

    /// <summary>
    /// The checks whose tolerance follows the weight type: all but the codec's, whose only change beside any
    /// low-precision type is the same (bfloat16 LSTM matrices) and which <see cref="CodecCases"/> check once.
    /// </summary>
    public static IReadOnlyList<IComponentCheck> WeightDependentChecks { get; } = Verifier.DefaultChecks.Where(c => c is not CodecCheck).ToList();

    [Theory]
    [MemberData(nameof(LowPrecisionCases))]
    public void Every_case_is_within_the_tolerances_of_each_weight_type(string caseName, WeightType type)
    {
        using var backend = new CpuBackend();
        AssertWithinLowPrecisionTolerances(backend, caseName, type, _output);
    }

    /// <summary>The cases with q8 and q4 weights, whose products the CPU runs with integer dot products where it can.</summary>
    public static TheoryData<string, WeightType> QuantizedCases()
    {
        var data = new TheoryData<string, WeightType>();
        foreach (var (caseName, type) in LowPrecisionCases().Select(row => ((string)row[0], (WeightType)row[1])))
            if (type is WeightType.Q8 or WeightType.Q4) data.Add(caseName, type);
        return data;
    }

    /// <summary>The float32 products of q8 and q4 that CPUs without integer dot products run, on every machine.</summary>
    [SkippableTheory]
    [MemberData(nameof(QuantizedCases))]
    public void Every_case_is_within_the_tolerances_of_q8_and_q4_with_float_products(string caseName, WeightType type)
    {
        Skip.IfNot(IntegerGemm.IsSupported, "this CPU has no integer dot products: the test above ran the float products");
        using var backend = new CpuBackend(integerProducts: false);
        AssertWithinLowPrecisionTolerances(backend, caseName, type, _output);
    }

    [Theory]
    [MemberData(nameof(LowPrecisionCacheCases))]
    public void Every_case_is_within_the_tolerances_of_each_cache_type(string caseName, WeightType cacheType)
    {
        using var backend = new CpuBackend();
        AssertWithinLowPrecisionTolerances(backend, caseName, WeightType.F32, _output, cacheType);
    }

    /// <summary>
    /// Runs a case's weight-dependent checks with a weight type (and a cache type; by default the one beside those
    /// weights) on a backend: its float tensors and its generated codes are compared, and every one is within the
    /// tolerances of those types.
    /// </summary>
    internal static void AssertWithinLowPrecisionTolerances(IBackend backend, string caseName, WeightType type, ITestOutputHelper output,
        WeightType? cacheType = null)
    {
        var report = new Verifier(backend, WeightDependentChecks, signalChecks: [], type, cacheType).Run(TestPaths.Golden(caseName));
        foreach (var row in report.Rows) output.WriteLine($"{row.Name} {row.Shape} {row.Metric} err={row.MaxAbsError:E3} tol={row.Tolerance:E3} {(row.Passed ? "pass" : "FAIL " + row.Note)}");
        Assert.Contains(report.Rows, r => r.Metric == ErrorMetric.RelativeRms);
        Assert.Contains(report.Rows, r => r.Name is "generate.codes" or "longform.codes" && r.Metric == ErrorMetric.Disagreement);
        Assert.True(report.Failed == 0, $"{report.Failed} tensors failed: {string.Join(", ", report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name} ({r.MaxAbsError:E3} > {r.Tolerance:E3})"))}");
    }

    /// <summary>Every case with a codec part (EnCodec cases, and MusicGen cases with audio_encoder tensors).</summary>
    public static TheoryData<string> CodecCases()
    {
        var data = new TheoryData<string>();
        foreach (string folder in TestPaths.GoldenCases())
        {
            using var golden = GoldenCase.Open(folder);
            if (golden.Has(golden.CodecPrefix + "encode.input")) data.Add(Path.GetFileName(folder));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CodecCases))]
    public void The_codec_beside_low_precision_weights_is_within_its_tolerance(string caseName)
    {
        using var backend = new CpuBackend();
        AssertCodecWithinLowPrecisionTolerance(backend, caseName, _output);
    }

    /// <summary>
    /// Runs a case's codec part as it is built beside q8 weights (bfloat16 LSTM matrices): every tensor is within
    /// <see cref="LowPrecisionTolerance.Codec"/>, and the decoded audio differs from float32's, so the bfloat16 path ran.
    /// </summary>
    internal static void AssertCodecWithinLowPrecisionTolerance(IBackend backend, string caseName, ITestOutputHelper output)
    {
        var report = new Verifier(backend, [new CodecCheck()], signalChecks: [], WeightType.Q8).Run(TestPaths.Golden(caseName));
        foreach (var row in report.Rows) output.WriteLine($"{row.Name} {row.Shape} {row.Metric} err={row.MaxAbsError:E3} tol={row.Tolerance:E3} {(row.Passed ? "pass" : "FAIL " + row.Note)}");
        Assert.Contains(report.Rows, r => r.Name.EndsWith("decode.audio", StringComparison.Ordinal) && r.Metric == ErrorMetric.RelativeRms && r.MaxAbsError > 0);
        Assert.True(report.Failed == 0, $"{report.Failed} tensors failed: {string.Join(", ", report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name} ({r.MaxAbsError:E3} > {r.Tolerance:E3})"))}");
    }

    [Fact]
    public void The_codec_part_of_every_case_is_checked()
    {
        using var backend = new CpuBackend();
        foreach (string folder in TestPaths.GoldenCases())
        {
            using var golden = GoldenCase.Open(folder);
            if (!golden.Has(golden.CodecPrefix + "encode.input")) continue;
            var report = new Verifier(backend).Run(folder);
            Assert.Contains(report.Rows, r => r.Name == golden.CodecPrefix + "encode.codes" && r.Passed);
            Assert.Contains(report.Rows, r => r.Name == golden.CodecPrefix + "decode.audio" && r.Passed);
        }
    }
}
