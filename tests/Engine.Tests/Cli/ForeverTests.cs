using System.Buffers.Binary;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

/// <summary><c>generate --forever --out -</c> as a process: a stream without end, ended by its reader or a signal.</summary>
public class ForeverTests
{
    private static readonly string[] Forever =
        ["generate", "ambient", "--forever", "--model", Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), "--window", "2", "--extend-stride", "1.2"];

    /// <summary>Reads the WAV header of unknown length and <paramref name="seconds"/> of 16-bit mono audio at 32 kHz after it.</summary>
    private static void ReadStream(Stream stdout, double seconds)
    {
        var riff = new byte[20];
        stdout.ReadExactly(riff);
        Assert.Equal("RIFF"u8.ToArray(), riff[..4]);
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(riff.AsSpan(4)));
        Assert.Equal("fmt "u8.ToArray(), riff[12..16]);
        var format = new byte[BinaryPrimitives.ReadUInt32LittleEndian(riff.AsSpan(16)) + 8]; // the fmt chunk, then the data chunk's header
        stdout.ReadExactly(format);
        Assert.Equal("data"u8.ToArray(), format[^8..^4]);
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(format.AsSpan(format.Length - 4)));
        var audio = new byte[(int)(seconds * 32000) * 2];
        stdout.ReadExactly(audio);
        Assert.Contains(audio, b => b != 0);
    }

    [SkippableFact]
    public void The_stream_goes_on_past_any_window_until_the_reader_closes_it_then_the_process_ends_with_0()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "closed pipes as Linux reports them");
        using var process = CliProcess.Start(new Dictionary<string, string>(), [.. Forever, "--out", "-"]);
        var error = process.StandardError.ReadToEndAsync();
        ReadStream(process.StandardOutput.BaseStream, 45);
        process.StandardOutput.Close();
        Assert.True(process.WaitForExit(60_000), "the process did not stop");
        Assert.True(process.ExitCode == 0, error.Result);
        Assert.Contains("the reader closed standard output after", error.Result);
        Assert.DoesNotContain("   at ", error.Result);
    }

    [SkippableFact]
    public void Sigint_ends_the_stream_well_formed_with_0()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "signals are sent with kill(2)");
        using var process = CliProcess.Start(new Dictionary<string, string>(), [.. Forever, "--out", "-"]);
        var error = process.StandardError.ReadToEndAsync();
        ReadStream(process.StandardOutput.BaseStream, 5);
        CliProcess.Signal(process, 2);
        var rest = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(rest); // to its end: whole samples
        Assert.True(process.WaitForExit(60_000), "the process did not stop");
        Assert.True(process.ExitCode == 0, error.Result);
        Assert.Equal(0, rest.Length % 2);
        Assert.Contains("stopped after", error.Result);
    }

    [Fact]
    public void Forever_to_a_file_is_refused_in_one_line()
    {
        using var folder = new TempFolder();
        var run = CliRunner.Run([.. Forever, "--out", folder.File("x.wav")]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("give --out -", run.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }
}
