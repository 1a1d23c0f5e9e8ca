using System.CommandLine;
using System.Globalization;
using MusicGen.Kernels;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Adapters;
using MusicGen.Verification;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen verify CASE_DIR…</c>: runs golden cases and prints the error of every tensor.</summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var cases = new Argument<string[]>("case") { Description = "Golden case folder(s) (case.json, expected.safetensors, model/)", Arity = ArgumentArity.OneOrMore };
        var device = CommonOptions.Device();
        var weights = CommonOptions.Weights("f32");
        var adapters = CommonOptions.Adapters();
        adapters.Description += "; merged after the adapters a case names itself";
        var cache = CommonOptions.Cache();
        var command = new Command("verify", "Run golden reference cases and print, for every tensor, the engine's error against the reference") { cases, device, weights, cache, adapters };
        command.SetAction(parse => CommandRunner.Run(() => Verify(parse.GetValue(cases)!, parse.GetValue(device)!, WeightTypes.Parse(parse.GetValue(weights)!),
            CommonOptions.CacheType(parse.GetValue(cache)), CommonOptions.AdapterList(parse.GetValue(adapters)))));
        return command;
    }

    private static int Verify(string[] caseFolders, string device, WeightType weightType, WeightType? cache, IReadOnlyList<AdapterReference> adapters)
    {
        var cacheType = cache ?? DecoderCache.DefaultType(weightType);
        using var backend = BackendSelector.Open(device);
        Console.WriteLine($"device {backend.Name}, {weightType.Name()} weights, {cacheType.Name()} key/value cache");
        if (weightType != WeightType.F32 || cacheType != WeightType.F32)
        {
            var tolerance = LowPrecisionTolerance.For(weightType, cacheType, backend);
            string products = LowPrecisionTolerance.MultipliesWithIntegers(weightType, backend) ? " (8-bit integer dot products)" : "";
            Console.WriteLine($"text encoder and decoder tensors{products}: relative RMS error ≤ {tolerance.RelativeRms:0.###}, integer tensors: share differing ≤ {tolerance.Disagreement:0.###}");
        }
        if (weightType != WeightType.F32)
        {
            var codec = LowPrecisionTolerance.Codec;
            Console.WriteLine($"codec tensors (its LSTMs' matrices in bf16): relative RMS error ≤ {codec.RelativeRms:0.###}, codes: share differing ≤ {codec.Disagreement:0.###}");
        }
        var verifier = new Verifier(backend, weightType: weightType, cacheType: cacheType, adapters: adapters);
        int passed = 0, failed = 0;
        foreach (string folder in caseFolders)
        {
            var report = verifier.Run(folder);
            Print(report);
            passed += report.Passed;
            failed += report.Failed + (report.Rows.Count == 0 ? 1 : 0);
        }
        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : CommandRunner.Failure;
    }

    private static void Print(VerificationReport report)
    {
        Console.WriteLine($"case {report.Case}");
        int nameWidth = Math.Max(6, report.Rows.Select(r => r.Name.Length).DefaultIfEmpty(0).Max());
        int shapeWidth = Math.Max(5, report.Rows.Select(r => r.Shape.Length).DefaultIfEmpty(0).Max());
        Console.WriteLine($"  {"tensor".PadRight(nameWidth)}  {"shape".PadRight(shapeWidth)}  {"error",13}  {"tolerance",11}  result");
        foreach (var row in report.Rows)
        {
            string error = double.IsNaN(row.MaxAbsError) ? "-" : row.MaxAbsError.ToString("0.000e+00", CultureInfo.InvariantCulture);
            string tolerance = row.Tolerance.ToString("0.000e+00", CultureInfo.InvariantCulture);
            string? metric = row.Metric switch { ErrorMetric.RelativeRms => "relative RMS", ErrorMetric.Disagreement => "share differing", _ => null };
            string note = string.Join("; ", new[] { metric, row.Note }.OfType<string>());
            string result = (row.Passed ? "pass" : "FAIL") + (note.Length == 0 ? "" : $" ({note})");
            Console.WriteLine($"  {row.Name.PadRight(nameWidth)}  {row.Shape.PadRight(shapeWidth)}  {error,13}  {tolerance,11}  {result}");
        }
        if (report.NotImplemented.Count > 0)
            Console.WriteLine($"  ({report.NotImplemented.Count} tensors belong to components not implemented yet)");
        if (report.Rows.Count == 0)
            Console.WriteLine("  FAIL: nothing in this case could be checked");
    }
}
