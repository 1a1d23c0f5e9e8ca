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
    /// <summary>
    /// The cases run on the emulator, named so that a new (larger) case is not added silently: left out are
    /// musicgen-mono, -mono-f16 and -stereo-sharded (the decoder of musicgen-short and -stereo, other storage),
    /// the audio-prompt, melody and longform cases (codec encode, chroma and windows, checked by the cases below
    /// and on the CPU and OpenCL) and encodec-32khz-bf16 (encodec-32khz in other storage).
    /// </summary>
    private static readonly string[] EmulatedCases =
    [
        "musicgen-short", "musicgen-stereo", "musicgen-unconditional", "musicgen-variant", "encodec-32khz", "encodec-causal",
        "chroma-30s", "chroma-chunk1", "chroma-edges", "resample-32k", "resample-melody",
    ];

    public static TheoryData<string> Cases() => new(EmulatedCases);

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
