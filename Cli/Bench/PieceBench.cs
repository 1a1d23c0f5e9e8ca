using System.Diagnostics;
using System.Text;
using MusicGen.Engine;
using MusicGen.Engine.Backends;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Cli.Bench;

/// <summary>
/// What a user waits for: a whole piece from one prompt with guidance, in this process phase by phase (load, text
/// encoder, decoding steps, codec), then <c>generate --out -</c> as a child process, from its start to the first
/// audio byte on its standard output and to its exit.
/// </summary>
public static class PieceBench
{
    private const string Prompt = "80s pop track with bassy drums and synth";

    public static void Report(IBackend backend, string device, CheckpointFolder checkpoint, IEnumerable<WeightType> types, double seconds)
    {
        Console.WriteLine($"a {seconds:0.#} s piece, one prompt with guidance (in this process; then `generate --out -` as a child process, from its start):");
        Console.WriteLine($"{"weights",-8}{"load s",8}{"text s",8}{"steps s",9}{"codec s",9}{"total s",9}{"RTF",7}{"first audio s",15}{"child total s",15}");
        foreach (var type in types)
        {
            var phases = InProcess(backend, checkpoint, type, seconds);
            var child = ChildProcess(checkpoint.Folder, device, type, seconds);
            Console.WriteLine($"{type.Name(),-8}{phases.Load,8:0.00}{phases.Text,8:0.00}{phases.Steps,9:0.00}{phases.Codec,9:0.00}{phases.Total,9:0.00}{phases.Total / seconds,7:0.00}"
                + $"{child.FirstAudio,15:0.00}{child.Total,15:0.00}");
        }
        Console.WriteLine("  (text: until the text encoder's output; steps: until the last decoding step; codec: decoding the codes to audio)");
    }

    private sealed record Phases(double Load, double Text, double Steps, double Codec)
    {
        public double Total => Load + Text + Steps + Codec;
    }

    private static Phases InProcess(IBackend backend, CheckpointFolder checkpoint, WeightType type, double seconds)
    {
        var clock = Stopwatch.StartNew();
        using var pipeline = new MusicgenPipeline(checkpoint, backend, type);
        double load = clock.Elapsed.TotalSeconds;
        var plan = pipeline.Prepare(MusicRequest.FromText(Prompt) with { Duration = seconds, Seed = 1 });
        TimeSpan textEnd = default, lastStep = default;
        pipeline.Model.TextEncoder.Inspector = (_, _) => textEnd = clock.Elapsed;
        var progress = new SynchronousProgress(_ => lastStep = clock.Elapsed);
        var start = clock.Elapsed;
        pipeline.Generate(plan, progress);
        var end = clock.Elapsed;
        pipeline.Model.TextEncoder.Inspector = null;
        return new Phases(load, (textEnd - start).TotalSeconds, (lastStep - textEnd).TotalSeconds, (end - lastStep).TotalSeconds);
    }

    /// <summary>Progress reported on the generating thread, as it happens (Progress&lt;T&gt; would post it later).</summary>
    private sealed class SynchronousProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }

    /// <summary>Seconds from starting <c>generate … --out -</c> to its first audio byte and to its exit.</summary>
    private static (double FirstAudio, double Total) ChildProcess(string folder, string device, WeightType type, double seconds)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run as `dotnet musicgen.dll`, the child needs the assembly; as the musicgen executable, only its arguments.
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet") start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "musicgen.dll"));
        foreach (string arg in new[] { "generate", Prompt, "--model", folder, "--device", device, "--weights", type.Name(),
            "--duration", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", "1", "--out", "-" })
            start.ArgumentList.Add(arg);
        var clock = Stopwatch.StartNew();
        using var child = Process.Start(start) ?? throw new MusicGenException($"could not start {start.FileName}");
        var errors = new StringBuilder();
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        child.BeginErrorReadLine();
        var stdout = child.StandardOutput.BaseStream;
        SkipToSamples(stdout);
        double firstAudio = stdout.ReadByte() < 0 ? double.NaN : clock.Elapsed.TotalSeconds;
        stdout.CopyTo(Stream.Null);
        child.WaitForExit();
        double total = clock.Elapsed.TotalSeconds;
        if (child.ExitCode != 0 || double.IsNaN(firstAudio))
            throw new MusicGenException($"the child `generate --out -` failed (exit code {child.ExitCode}): {errors.ToString().Trim()}");
        return (firstAudio, total);
    }

    /// <summary>Reads a streamed WAV's header, up to the first byte of the data chunk.</summary>
    private static void SkipToSamples(Stream wav)
    {
        Span<byte> header = stackalloc byte[12];
        wav.ReadExactly(header);
        Span<byte> chunk = stackalloc byte[8];
        while (true)
        {
            wav.ReadExactly(chunk);
            if (Encoding.ASCII.GetString(chunk[..4]) == "data") return;
            long size = BitConverter.ToUInt32(chunk[4..]);
            for (long i = 0; i < size + (size & 1); i++)
                if (wav.ReadByte() < 0) throw new MusicGenException("the child's WAV stream ended in its header");
        }
    }
}
