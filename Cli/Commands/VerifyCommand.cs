using System.CommandLine;
using System.Globalization;
using MusicGen.Kernels;
using MusicGen.Engine.Verification;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen verify CASE_DIR…</c>: runs golden cases and prints the error of every tensor.</summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var cases = new Argument<string[]>("case") { Description = "Golden case folder(s) (case.json, expected.safetensors, model/)", Arity = ArgumentArity.OneOrMore };
        var device = CommonOptions.Device();
        var command = new Command("verify", "Run golden reference cases and print, for every tensor, the engine's error against the reference") { cases, device };
        command.SetAction(parse => CommandRunner.Run(() => Verify(parse.GetValue(cases)!, parse.GetValue(device)!)));
        return command;
    }

    private static int Verify(string[] caseFolders, string device)
    {
        using var backend = BackendSelector.Open(device);
        Console.WriteLine($"device {backend.Name}");
        var verifier = new Verifier(backend);
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
        Console.WriteLine($"  {"tensor".PadRight(nameWidth)}  {"shape".PadRight(shapeWidth)}  {"max abs error",13}  {"tolerance",11}  result");
        foreach (var row in report.Rows)
        {
            string error = double.IsNaN(row.MaxAbsError) ? "-" : row.MaxAbsError.ToString("0.000e+00", CultureInfo.InvariantCulture);
            string tolerance = row.Tolerance.ToString("0.000e+00", CultureInfo.InvariantCulture);
            string result = (row.Passed ? "pass" : "FAIL") + (row.Note is null ? "" : $" ({row.Note})");
            Console.WriteLine($"  {row.Name.PadRight(nameWidth)}  {row.Shape.PadRight(shapeWidth)}  {error,13}  {tolerance,11}  {result}");
        }
        if (report.NotImplemented.Count > 0)
            Console.WriteLine($"  ({report.NotImplemented.Count} tensors belong to components not implemented yet)");
        if (report.Rows.Count == 0)
            Console.WriteLine("  FAIL: nothing in this case could be checked");
    }
}
