using System.Text.Json;
using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hardening;

/// <summary>What only a separate process shows: signals and temporary files, special files, peak memory, exit codes.</summary>
public sealed class ProcessTests
{
    private static readonly string MonoModel = Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    private static void AssertOneErrorLine(CliProcess.Result run, string expected)
    {
        Assert.Equal(1, run.ExitCode);
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, run.Error);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    private static void WriteWav(string path, int sampleRate, int samples)
    {
        var bytes = new Audio.WavBuilder().Fmt(1, 1, sampleRate, 16).Data(new byte[samples * 2]).ToArray();
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void Hostile_sizes_are_refused_before_memory_grows()
    {
        using var folder = new TempFolder();
        WriteWav(folder.File("fast.wav"), 123_456_789, 100);   // the resampler's filter would take 6 GB
        WriteWav(folder.File("slow.wav"), 1, 100);             // 100 samples at 1 Hz: 100 s once resampled

        // Each would grow to gigabytes. Under a 1 GiB heap limit an attempt would end in an out-of-memory error
        // instead of the refusal (the children of other tests, a compiler among them, are no measure of these).
        var bounded = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x40000000" };
        AssertOneErrorLine(CliProcess.Run(["encode", folder.File("fast.wav"), "--model", MonoModel, "--out", folder.File("a.safetensors")], bounded), "resampling from 123456789 Hz");
        AssertOneErrorLine(CliProcess.Run(["encode", folder.File("slow.wav"), "--model", MonoModel, "--out", folder.File("b.safetensors")], bounded), "below 1000 Hz");
        Assert.Equal(["fast.wav", "slow.wav"], Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_header_listing_900000_tensors_is_refused_before_memory_grows()
    {
        using var folder = new TempFolder();
        foreach (string file in Directory.GetFiles(MonoModel).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, folder.File(Path.GetFileName(file)));
        const int tensors = 900_000;
        var header = new System.Text.StringBuilder("{");
        for (int i = 0; i < tensors; i++) header.Append(i == 0 ? "" : ",").Append($$"""
            "extra.t{{i}}":{"dtype":"U8","shape":[1],"data_offsets":[{{i}},{{i + 1}}]}
            """);
        byte[] headerBytes = System.Text.Encoding.UTF8.GetBytes(header.Append('}').ToString());
        using (var stream = File.Create(folder.File("model.safetensors")))
        {
            stream.Write(BitConverter.GetBytes((ulong)headerBytes.Length));
            stream.Write(headerBytes);
            stream.Write(new byte[tensors]);
        }

        // Read whole into one document, the 62 MB header took 1 GB; entry by entry, the count stops it early.
        var bounded = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" };
        AssertOneErrorLine(CliProcess.Run(["info", "--model", folder.Path], bounded), "the header lists more than 65536 tensors");
    }

    [SkippableTheory]
    [InlineData(15)] // SIGTERM
    [InlineData(2)]  // SIGINT, as Ctrl-C sends it
    public void A_signal_while_an_output_is_written_removes_its_temporary_file(int signal)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "signals are sent with kill(2)");
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("codes.json"), JsonSerializer.Serialize(new
        {
            sampling_rate = 32000, frame_rate = 50, shape = new[] { 1, 4, 50 }, codes = new[] { Enumerable.Repeat(new int[50], 4) },
        }));
        // The run waits once the WAV is written in full under its temporary name, before renaming it into place.
        using var process = CliProcess.Start(new Dictionary<string, string> { ["MUSICGEN_PAUSE_AT"] = "output-written" },
            "decode", folder.File("codes.json"), "--model", MonoModel, "--out", folder.File("out.wav"));
        CliProcess.ReadErrorUntil(process, "paused at output-written");
        string temporary = Assert.Single(Directory.GetFiles(folder.Path, ".out.wav.musicgen-tmp-*"));
        Assert.True(new FileInfo(temporary).Length > 44, "the temporary file holds no samples");

        CliProcess.Signal(process, signal);
        Assert.True(process.WaitForExit(60_000), "the process did not stop");

        Assert.NotEqual(0, process.ExitCode);
        Assert.Equal(["codes.json"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [SkippableFact]
    public void The_next_write_removes_the_temporary_file_of_a_killed_run_and_keeps_a_running_ones()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "process ids are checked as on Linux");
        using var folder = new TempFolder();
        WriteWav(folder.File("in.wav"), 32000, 3200);
        string stale = folder.File(".out.safetensors.musicgen-tmp-99999999"), live = folder.File($".out.safetensors.musicgen-tmp-{Environment.ProcessId}");
        File.WriteAllText(stale, "left by a run that was killed");
        File.WriteAllText(live, "written by a run that is still going");

        var run = CliProcess.Run(["encode", folder.File("in.wav"), "--model", MonoModel, "--out", folder.File("out.safetensors")]);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
    }

    [SkippableFact]
    public void Special_files_are_refused_or_skipped_never_waited_on_or_replaced()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs and /dev/zero");
        using var folder = new TempFolder();
        string fifo = folder.File("pipe.wav");
        Assert.Equal(0, Shell("mkfifo", fifo));
        File.CreateSymbolicLink(folder.File("zero.wav"), "/dev/zero");
        Directory.CreateDirectory(folder.File("music"));
        WriteWav(folder.File("music/a.wav"), 32000, 3200);
        File.CreateSymbolicLink(folder.File("music/pipe.wav"), fifo);
        Directory.CreateSymbolicLink(folder.File("music/loop"), folder.File("music"));

        AssertOneErrorLine(CliProcess.Run(["encode", fifo, "--model", MonoModel, "--out", folder.File("x.safetensors")], 60), "is a FIFO");
        AssertOneErrorLine(CliProcess.Run(["encode", folder.File("zero.wav"), "--model", MonoModel, "--out", folder.File("x.safetensors")], 60), "is a character device");
        AssertOneErrorLine(CliProcess.Run(["decode", "--model", MonoModel, "--out", fifo, folder.File("zero.wav")], 60), "never replaced");
        Assert.Equal(0, Shell("test", "-p", fifo)); // still a FIFO

        string model = folder.File("model");
        Directory.CreateDirectory(model);
        foreach (string file in Directory.GetFiles(MonoModel)) File.CreateSymbolicLink(Path.Combine(model, Path.GetFileName(file)), file);
        File.CreateSymbolicLink(Path.Combine(model, "notes.txt"), fifo);
        var info = CliProcess.Run(["info", "--model", model], 60);
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Matches(@"notes\.txt\s+not a regular file", info.Output);

        var collection = CliProcess.Run(["encode", folder.File("music"), "--model", MonoModel, "--out", folder.File("dataset")], 120);
        Assert.True(collection.ExitCode == 0, collection.Error);
        Assert.Contains("1 encoded, 0 failed", collection.Output);
        Assert.Contains("pipe.wav: not a regular file", collection.Error);
        Assert.Contains("a link to a folder is not followed", collection.Error);
        Assert.Equal(["a.safetensors"], Directory.GetFiles(folder.File("dataset"), "*", SearchOption.AllDirectories).Select(Path.GetFileName));
    }

    private static int Shell(string command, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(command, args);
        process.WaitForExit();
        return process.ExitCode;
    }
}
