using MusicGen.Verification;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Golden;
using Xunit.Abstractions;

namespace MusicGen.Tests.Backends;

/// <summary>Every golden case through the verifier on the OpenCL backend: the same rows, tolerances and exact codes as on the CPU.</summary>
[Collection(OpenClCollection.Name)]
public sealed class OpenClGoldenCaseTests(OpenClFixture fixture, ITestOutputHelper output)
{
    public static TheoryData<string> Cases() => GoldenCaseTests.Cases();

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Every_implemented_tensor_matches_the_reference(string caseName)
    {
        var before = fixture.Backend.Memory;
        var report = new Verifier(fixture.Backend).Run(TestPaths.Golden(caseName));
        // The case's models and caches are freed (scratch kept for reuse may have grown).
        Assert.Equal(before with { Scratch = 0 }, fixture.Backend.Memory with { Scratch = 0 });
        foreach (var row in report.Rows)
            output.WriteLine($"{row.Name} {row.Shape} err={row.MaxAbsError:E3} tol={row.Tolerance:E3} {(row.Passed ? "pass" : "FAIL " + row.Note)}");
        Assert.True(report.Rows.Count > 0, "no tensor was checked");
        Assert.Empty(report.NotImplemented);
        Assert.True(report.Failed == 0, $"{report.Failed} tensors failed: {string.Join(", ", report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name} (err {r.MaxAbsError:E3}, tol {r.Tolerance:E3}{(r.Note is null ? "" : ", " + r.Note)})"))}");
    }

    public static TheoryData<string, WeightType> LowPrecisionCases() => GoldenCaseTests.LowPrecisionCases();

    [SkippableTheory]
    [MemberData(nameof(LowPrecisionCases))]
    public void Every_case_is_within_the_tolerances_of_each_weight_type(string caseName, WeightType type) =>
        GoldenCaseTests.AssertWithinLowPrecisionTolerances(fixture.Backend, caseName, type, output);

    public static TheoryData<string, WeightType> LowPrecisionCacheCases() => GoldenCaseTests.LowPrecisionCacheCases();

    [SkippableTheory]
    [MemberData(nameof(LowPrecisionCacheCases))]
    public void Every_case_is_within_the_tolerances_of_each_cache_type(string caseName, WeightType cacheType) =>
        GoldenCaseTests.AssertWithinLowPrecisionTolerances(fixture.Backend, caseName, WeightType.F32, output, cacheType);

    public static TheoryData<string> CodecCases() => GoldenCaseTests.CodecCases();

    [SkippableTheory]
    [MemberData(nameof(CodecCases))]
    public void The_codec_beside_low_precision_weights_is_within_its_tolerance(string caseName) =>
        GoldenCaseTests.AssertCodecWithinLowPrecisionTolerance(fixture.Backend, caseName, output);
}
