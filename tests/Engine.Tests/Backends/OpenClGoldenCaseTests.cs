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
    public void Every_implemented_tensor_matches_the_reference(string caseName) =>
        GoldenCaseTests.AssertEveryTensorMatches(fixture.Backend, caseName, output);

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
