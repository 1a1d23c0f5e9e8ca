using MusicGen.Engine.Verification;
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
    public static TheoryData<string> Cases() => GoldenCaseTests.Cases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_implemented_tensor_matches_the_reference(string caseName)
    {
        var report = new Verifier(fixture.Backend).Run(TestPaths.Golden(caseName));
        foreach (var row in report.Rows)
            output.WriteLine($"{row.Name} {row.Shape} err={row.MaxAbsError:E3} tol={row.Tolerance:E3} {(row.Passed ? "pass" : "FAIL " + row.Note)}");
        Assert.True(report.Rows.Count > 0, "no tensor was checked");
        Assert.Empty(report.NotImplemented);
        Assert.True(report.Failed == 0, $"{report.Failed} tensors failed: {string.Join(", ", report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name} (err {r.MaxAbsError:E3}, tol {r.Tolerance:E3}{(r.Note is null ? "" : ", " + r.Note)})"))}");
    }

    /// <summary>
    /// The q8 key/value cache beside float32 weights on two cases (a prompt, and a melody's conditioning prefix
    /// before the cached positions): each case is a minute or two of the emulator in CI, and the kernels are the ones
    /// the op-contract tests check on every backend.
    /// </summary>
    [Theory]
    [InlineData("musicgen-mono")]
    [InlineData("musicgen-melody")]
    public void A_q8_cache_is_within_its_tolerance(string caseName) =>
        GoldenCaseTests.AssertWithinLowPrecisionTolerances(fixture.Backend, caseName, WeightType.F32, output, WeightType.Q8);
}
