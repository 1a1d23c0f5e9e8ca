using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hardening;

/// <summary>
/// Random command lines built from real and broken pieces: every one ends with exit code 0, or 1 with exactly one
/// line on stderr starting with "error: " that is not an internal error, and writes nothing where it failed.
/// </summary>
[Collection("Console")]
public sealed class CommandLineFuzzTests
{
    private static readonly string[] Commands = ["generate", "encode", "decode", "info", "quantize", "verify", "compose", "", "--help"];

    private static readonly string[] Pieces =
    [
        "--model", "-m", "--out", "-o", "--duration", "--tokens", "--seed", "--top-k", "--top-p", "--temperature", "--guidance",
        "--greedy", "--unconditional", "--samples", "--continue", "--melody", "--save-codes", "--format", "--device", "--bandwidth",
        "--weights", "--cache", "q8", "q4", "f32",
        "--duraton", "--bogus", "-x", "--", "-", "@/dev/zero", "@", "@home studio", "", " ", "pop", "-1", "0", "1e308", "Infinity",
        "NaN", "2147483647", "18446744073709551616", "abc", "Float32", "Bogus", "cpu", "opencl:99", "no/such-model",
        "/dev/null", "/", "\u0007bell\u001b[31m", "line\nbreak", "--model=no/such",
    ];

    /// <summary>File names in the test's folder, so that anything written by mistake is seen there.</summary>
    private static readonly string[] Files = ["x.wav", "x.mp3", "x.json", "x.safetensors", "-o=x.wav", "sub/x.wav"];

    [Fact]
    public void Every_random_command_line_ends_in_success_or_one_clear_error_line()
    {
        using var folder = new TempFolder();
        var random = new Random(5678);
        var pieces = Pieces.Concat(Files.Select(folder.File)).ToArray();
        {
            for (int i = 0; i < 400; i++)
            {
                var args = new List<string> { Commands[random.Next(Commands.Length)] };
                for (int n = random.Next(7); n > 0; n--) args.Add(pieces[random.Next(pieces.Length)]);
                if (args[0] == "") args.RemoveAt(0);
                // The model never exists, so a command line that parses fails fast instead of generating.
                args.AddRange(["--model", "no/such-model"]);
                var run = CliRunner.Run([.. args]);
                string line = string.Join(" ", args.Select(a => $"[{a}]"));
                if (run.ExitCode == 0) continue;
                Assert.Equal(1, run.ExitCode);
                var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.True(lines.Length == 1, $"{line}: {lines.Length} lines on stderr: {run.Error}");
                Assert.StartsWith("error: ", lines[0]);
                Assert.DoesNotContain("internal error", lines[0]);
                Assert.DoesNotContain("System.", lines[0]);
                Assert.False(lines[0].Any(c => char.IsControl(c) && c != '\r'), $"{line}: a control character reached the terminal: {lines[0]}");
                Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
            }
        }
    }
}
