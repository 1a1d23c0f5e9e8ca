using System.CommandLine;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using MusicGen.Cli.Bench;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Kernels;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Cli.Commands;

/// <summary>
/// <c>musicgen bench</c>: on a random checkpoint of musicgen-small's (or -medium's, -large's) sizes, one row per
/// weight type (load time, peak resident memory, decoding step time with guidance and the share of the memory
/// bandwidth measured in the same run), the throughput of several prompts at once, the step early and late in a
/// piece per key/value cache type, and the codec's speed.
/// </summary>
public static class BenchCommand
{
    private static readonly int[] PromptCounts = [1, 2, 4, 8];

    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Decoding steps to time per row", DefaultValueFactory = _ => 40 };
        var checkpointFolder = new Option<string?>("--checkpoint")
        {
            Description = "Folder for the random checkpoint: reused when present, written there otherwise (default: a temporary folder, deleted afterwards)",
        };
        var size = new Option<string>("--size")
        {
            Description = "Sizes of the random checkpoint: small (float32 on disk, 2.4 GB), medium (float16, 3.3 GB) or large (float16, 7 GB)",
            DefaultValueFactory = _ => "small",
        };
        var weights = new Option<string>("--weights")
        {
            Description = "Weight types to time, comma-separated (f32, f16, bf16, q8, q4; default all); the prompt throughput uses the last",
            DefaultValueFactory = _ => "f32,f16,bf16,q8,q4",
        };
        var caches = new Option<string>("--cache")
        {
            Description = "Key/value cache types whose steps are timed early and late in a piece, comma-separated (f32, f16, q8; default f16,q8), with q8 and q4 weights (those of --weights)",
            DefaultValueFactory = _ => "f16,q8",
        };
        var device = CommonOptions.Device();
        var command = new Command("bench", "Time decoding steps per weight type on a random checkpoint of a MusicGen size, next to the memory bandwidth, and the codec")
        {
            steps, checkpointFolder, size, weights, caches, device,
        };
        command.SetAction(parse => CommandRunner.Run(() => Run(parse.GetValue(steps), parse.GetValue(checkpointFolder), ModelSize.Parse(parse.GetValue(size)!),
            ParseTypes(parse.GetValue(weights)!, WeightTypes.Parse, "--weights"), ParseTypes(parse.GetValue(caches)!, DecoderCache.ParseType, "--cache"), parse.GetValue(device)!)));
        return command;
    }

    private static IReadOnlyList<WeightType> ParseTypes(string list, Func<string, WeightType> parse, string option)
    {
        var types = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(parse).Distinct().ToList();
        return types.Count > 0 ? types : throw new MusicGenException($"{option} names no type");
    }

    private static int Run(int steps, string? keep, ModelSize size, IReadOnlyList<WeightType> types, IReadOnlyList<WeightType> cacheTypes, string device)
    {
        if (steps < 1) throw new MusicGenException("--steps must be at least 1");
        string folder = keep ?? Path.Combine(Path.GetTempPath(), $"musicgen-bench-{Guid.NewGuid():N}");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            if (!RandomCheckpoint.IsPresent(folder))
            {
                Console.WriteLine($"writing a random musicgen-{size.Name}-sized checkpoint to {folder} …");
                RandomCheckpoint.Write(folder, size);
                Console.WriteLine($"  written in {stopwatch.Elapsed.TotalSeconds:0.0} s");
            }
            double bandwidth = MemoryBandwidth.MeasureGigabytesPerSecond();
            Console.WriteLine($"host memory read bandwidth {bandwidth:0.0} GB/s ({Environment.ProcessorCount} threads)");
            using var checkpoint = CheckpointFolder.Open(folder);
            using var backend = BackendSelector.Open(device);
            Console.WriteLine($"{checkpoint.Weights.ParameterCount / 1e6:0} M parameters on {backend.Name}; decoding steps with guidance (batch 2), median of {steps}");
            TimeWeightTypes(backend, checkpoint, types, steps, bandwidth);
            using var model = new MusicgenForConditionalGeneration(backend, checkpoint, types[^1]);
            TimePromptCounts(backend, model, types[^1], steps);
            CacheBench.Report(backend, checkpoint, types, cacheTypes);
            CodecBench.Report(backend, checkpoint);
            if (ProcessMemory.PeakBytes() is long peak)
                Console.WriteLine($"peak resident memory      {peak / 1e9:0.00} GB (the whole run; bench --weights T for one type's peak)");
            return 0;
        }
        finally
        {
            if (keep is null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>One row per weight type.</summary>
    private static void TimeWeightTypes(IBackend backend, CheckpointFolder checkpoint, IReadOnlyList<WeightType> types, int steps, double bandwidth)
    {
        // The host bandwidth is the bar for the CPU backend; a GPU reads its own memory, which is not measured here.
        bool host = backend is CpuBackend;
        Console.WriteLine($"{"weights",-8}{"load s",8}{"heap GB",9}{"GB/step",9}{"ms/step",9}{"p90 ms",8}{"GB/s",7}{(host ? "  of bw" : "")}{"steps/s",9}{"RTF",7}{"alloc KiB",11}");
        foreach (var type in types) TimeWeightType(backend, checkpoint, type, steps, bandwidth, host);
        Console.WriteLine("  (heap: the managed memory the loaded model holds, weights on the CPU; RTF: compute time per second of audio)");
    }

    /// <summary>One row; the model is dropped on return, before the next is loaded.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TimeWeightType(IBackend backend, CheckpointFolder checkpoint, WeightType type, int steps, double bandwidth, bool host)
    {
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var stopwatch = Stopwatch.StartNew();
        var model = new MusicgenForConditionalGeneration(backend, checkpoint, type);
        double load = stopwatch.Elapsed.TotalSeconds;
        long heap = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        var timing = DecoderBench.TimeSteps(backend, model, prompts: 1, steps);
        double bytes = DecoderBench.WeightBytesPerStep(model.Config.Decoder, type);
        double rate = bytes / (timing.MedianMs / 1000) / 1e9;
        double realTime = timing.MedianMs / 1000 * model.Config.AudioEncoder.FrameRate;
        Console.WriteLine($"{type.Name(),-8}{load,8:0.0}{heap / 1e9,9:0.00}{bytes / 1e9,9:0.000}{timing.MedianMs,9:0.0}{timing.P90Ms,8:0.0}{rate,7:0.0}"
            + $"{(host ? $"{100 * rate / bandwidth,7:0}%" : "")}{1000 / timing.MedianMs,9:0.0}{realTime,7:0.00}{timing.AllocatedBytesPerStep / 1024.0,11:0.0}");
    }

    private static void TimePromptCounts(IBackend backend, MusicgenForConditionalGeneration model, WeightType type, int steps)
    {
        Console.WriteLine($"prompts at once ({type.Name()} weights, guidance doubles the decoder batch):");
        foreach (int prompts in PromptCounts)
        {
            var timing = DecoderBench.TimeSteps(backend, model, prompts, steps);
            double stepsPerSecond = 1000 / timing.MedianMs;
            Console.WriteLine($"  {prompts} prompt(s)   {timing.MedianMs,7:0.0} ms/step  {stepsPerSecond,6:0.0} steps/s  {prompts * stepsPerSecond / model.Config.AudioEncoder.FrameRate,6:0.00} s of audio per second");
        }
    }
}
