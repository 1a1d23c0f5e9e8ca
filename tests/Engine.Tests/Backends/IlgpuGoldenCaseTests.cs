using MusicGen.Verification;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Golden;
using Xunit.Abstractions;

namespace MusicGen.Tests.Backends;

/// <summary>
/// Every golden case through the verifier on ILGPU's CPU accelerator: the same rows, tolerances and exact codes as
/// on the CPU. The emulator runs every group thread as an OS thread meeting at barriers, far slower than the CPU
/// backend (the whole set takes several minutes), but the golden cases are small enough for CI's budget.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuGoldenCaseTests(IlgpuFixture fixture, ITestOutputHelper output)
{
    /// <summary>
    /// Every case but three of the four long-form ones, which run the same kernels window after window and took half
    /// of the emulator's time (longform-mono stays, the case whose streamed audio showed the unpinned copies),
    /// and the LoRA cases, whose adapters are merged on the host at load and leave the same kernels to run.
    /// </summary>
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string folder in TestPaths.GoldenCases())
        {
            string name = Path.GetFileName(folder);
            bool skipped = name.Contains("lora", StringComparison.Ordinal) || (name.StartsWith("longform-", StringComparison.Ordinal) && name != "longform-mono");
            if (!skipped) data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_implemented_tensor_matches_the_reference(string caseName) =>
        GoldenCaseTests.AssertEveryTensorMatches(fixture.Backend, caseName, output);

    /// <summary>
    /// A representative few cases with low-precision weights, as the emulator takes minutes per case: the stereo
    /// case (the quickest) with every type, the mono case with generate's default q8, the stereo melody case with q4. OpenCL
    /// runs every case with every type.
    /// </summary>
    public static TheoryData<string, WeightType> LowPrecisionCases() => new()
    {
        { "musicgen-stereo", WeightType.F16 },
        { "musicgen-stereo", WeightType.BF16 },
        { "musicgen-stereo", WeightType.Q8 },
        { "musicgen-stereo", WeightType.Q4 },
        { "musicgen-mono", WeightType.Q8 },
        { "musicgen-stereo-melody", WeightType.Q4 },
    };

    [Theory]
    [MemberData(nameof(LowPrecisionCases))]
    public void The_representative_cases_are_within_the_tolerances_of_their_weight_types(string caseName, WeightType type) =>
        GoldenCaseTests.AssertWithinLowPrecisionTolerances(fixture.Backend, caseName, type, output);

    /// <summary>The codec of the plain EnCodec case beside low-precision weights (bfloat16 LSTM matrices).</summary>
    [Fact]
    public void The_codec_beside_low_precision_weights_is_within_its_tolerance() =>
        GoldenCaseTests.AssertCodecWithinLowPrecisionTolerance(fixture.Backend, "encodec-32khz", output);

    /// <summary>
    /// The q8 key/value cache beside float32 weights on two cases (a prompt, and a melody's conditioning prefix
    /// before the cached positions), the quickest of their kinds on the emulator; the kernels are the ones the
    /// op-contract tests check on every backend.
    /// </summary>
    [Theory]
    [InlineData("musicgen-mono")]
    [InlineData("musicgen-stereo-melody")]
    public void A_q8_cache_is_within_its_tolerance(string caseName) =>
        GoldenCaseTests.AssertWithinLowPrecisionTolerances(fixture.Backend, caseName, WeightType.F32, output, WeightType.Q8);
}
