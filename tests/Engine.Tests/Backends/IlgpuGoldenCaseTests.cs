using MusicGen.Engine.Verification;
using MusicGen.Tests.Golden;
using Xunit.Abstractions;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The golden cases through the verifier on ILGPU's CPU accelerator: the same rows, tolerances and exact codes as on
/// the CPU. The emulator runs every group thread as an OS thread meeting at barriers, about a hundred times slower
/// than the CPU backend, so the cases that only repeat what others cover with more audio or more steps are left to
/// the CPU and OpenCL runs; every component (T5, decoder, codec, LSTM, stereo, unconditional, chroma, resampling) is
/// still checked here.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuGoldenCaseTests(IlgpuFixture fixture, ITestOutputHelper output)
{
    /// <summary>Cases left out on the emulator, each repeating a smaller one: several minutes each under load.</summary>
    private static readonly HashSet<string> RepeatingLargerCases =
    [
        "musicgen-mono", "musicgen-mono-f16", "musicgen-stereo-sharded", // the decoder of musicgen-short and -stereo, other storage
        "musicgen-prompt", "musicgen-stereo-prompt",                      // an audio prompt: encodec encode, checked by encodec-*
        "musicgen-melody", "musicgen-stereo-melody",                      // chroma conditioning: chroma-* and the decoder cases
        "encodec-32khz-bf16",                                             // encodec-32khz in other storage
    ];

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string folder in TestPaths.GoldenCases())
            if (!RepeatingLargerCases.Contains(Path.GetFileName(folder))) data.Add(Path.GetFileName(folder));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_implemented_tensor_matches_the_reference(string caseName)
    {
        var report = new Verifier(fixture.Backend).Run(TestPaths.Golden(caseName));
        foreach (var row in report.Rows)
            output.WriteLine($"{row.Name} {row.Shape} err={row.MaxAbsError:E3} tol={row.Tolerance:E3} {(row.Passed ? "pass" : "FAIL " + row.Note)}");
        Assert.True(report.Rows.Count > 0, "no tensor was checked");
        Assert.True(report.Failed == 0, $"{report.Failed} tensors failed: {string.Join(", ", report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name} (err {r.MaxAbsError:E3}, tol {r.Tolerance:E3}{(r.Note is null ? "" : ", " + r.Note)})"))}");
    }
}
