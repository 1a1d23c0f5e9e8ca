using System.Diagnostics;
using MusicGen.Engine.Audio;
using MusicGen.Tests.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

/// <summary>generate --out - : a WAV stream on standard output while the piece is generated, here a long one.</summary>
public class StreamingOutputTests
{
    private static string SmallModel => Path.Combine(TestPaths.Golden("musicgen-prompt"), "model");

    [SkippableFact]
    public void A_75_second_piece_streams_to_standard_output_and_sox_or_ffmpeg_reads_all_of_it()
    {
        string? sox = WavStreamTests.Find("sox"), ffmpeg = WavStreamTests.Find("ffmpeg");
        Skip.If(sox is null && ffmpeg is null, "neither sox nor ffmpeg is installed");
        string cli = Path.Combine(AppContext.BaseDirectory, "musicgen.dll");
        var generate = Start("dotnet", [cli, "generate", "solo piano", "--model", SmallModel, "--duration", "75", "--greedy", "--out", "-"]);
        // The reader takes the stream through a pipe as it comes: 32 kHz mono float32 out.
        var reader = sox is not null
            ? Start(sox, ["-t", "wav", "-", "-t", "f32", "-"])
            : Start(ffmpeg!, ["-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0", "-f", "f32le", "pipe:1"]);
        Task<string> generateErrors = generate.StandardError.ReadToEndAsync();
        Task<string> readerErrors = reader.StandardError.ReadToEndAsync();
        var decoded = new MemoryStream();
        Task read = reader.StandardOutput.BaseStream.CopyToAsync(decoded);
        using (var pipe = reader.StandardInput.BaseStream) generate.StandardOutput.BaseStream.CopyTo(pipe);
        generate.WaitForExit();
        read.Wait();
        reader.WaitForExit();

        Assert.True(generate.ExitCode == 0, generateErrors.Result);
        Assert.True(reader.ExitCode == 0, readerErrors.Result);
        Assert.Equal(75 * 32000, decoded.Length / sizeof(float));
        Assert.Contains("75.00 s of audio", generateErrors.Result);
    }

    [SkippableFact]
    public void A_reader_that_closes_the_pipe_stops_the_piece_there_with_0_and_no_codes_file()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "closed pipes as Linux reports them");
        using var folder = new TempFolder();
        string codes = folder.File("piece.json");
        using var process = CliProcess.Start(new Dictionary<string, string>(),
            ["generate", "bass", "--model", SmallModel, "--duration", "600", "--window", "2", "--extend-stride", "1.2", "--out", "-", "--save-codes", codes]);
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.BaseStream.ReadExactly(new byte[44 + 3 * 32000 * 2]); // the header and 3 s of 16-bit audio
        process.StandardOutput.Close();
        Assert.True(process.WaitForExit(120_000), "the process did not stop");
        Assert.True(process.ExitCode == 0, error.Result);
        Assert.Matches(@"the reader closed standard output after \d+\.\d\d s of audio; stopped", error.Result);
        Assert.DoesNotContain("600.00 s of audio", error.Result);
        Assert.False(File.Exists(codes));
    }

    [Fact]
    public void A_long_piece_is_written_to_a_file_too()
    {
        using var folder = new TempFolder();
        string output = folder.File("long.wav");
        var run = CliRunner.Run("generate", "bass", "--model", SmallModel, "--duration", "3.2", "--window", "2", "--extend-stride", "1.2", "--greedy", "--out", output);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(160 * 640, WavFile.Read(output).Length);
    }

    [Fact]
    public void Standard_output_takes_one_piece()
    {
        var run = CliRunner.Run("generate", "a", "b", "--model", SmallModel, "--duration", "1", "--out", "-");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--out - streams one piece; this request makes 2", run.Error);
    }

    private static Process Start(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }
}
