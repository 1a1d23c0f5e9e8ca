using System.CommandLine;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using MusicGen.Cli.Bench;
using MusicGen.Engine;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Generation;
using MusicGen.Kernels;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;

namespace MusicGen.Cli.Commands;

/// <summary>
/// <c>musicgen bench</c>: on a random checkpoint of musicgen-small's (or -medium's, -large's) sizes, one row per
/// weight type (load time, peak resident memory, decoding step time with guidance and its share of the memory
/// bandwidth measured just before and after the row's steps), the throughput of several prompts at once, the step
/// early and late in a piece per key/value cache type, the codec's speed, and a whole piece at q8 and q4. Where the CPU multiplies q8
/// and q4 with integer dot products, their rows are also timed with float products, for comparison.
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
        var piece = new Option<double>("--piece")
        {
            Description = "Seconds of the whole piece generated at q8 and q4 (those of --weights), in this process and as a child process; 0 skips it",
            DefaultValueFactory = _ => 30,
        };
        var caches = new Option<string>("--cache")
        {
            Description = "Key/value cache types whose steps are timed early and late in a piece, comma-separated (f32, f16, q8; default f16,q8), with q8 and q4 weights (those of --weights)",
            DefaultValueFactory = _ => "f16,q8",
        };
        var device = CommonOptions.Device();
        var adapters = CommonOptions.Adapters();
        adapters.Description += "; it must fit the random checkpoint's sizes (an adapter of facebook/musicgen-small for --size small)";
        var command = new Command("bench", "Time decoding steps per weight type on a random checkpoint of a MusicGen size, next to the memory bandwidth, the codec, and a whole piece")
        {
            steps, checkpointFolder, size, weights, caches, piece, device, adapters,
        };
        command.SetAction(parse => CommandRunner.Run(() => Run(parse.GetValue(steps), parse.GetValue(checkpointFolder), ModelSize.Parse(parse.GetValue(size)!),
            ParseTypes(parse.GetValue(weights)!, WeightTypes.Parse, "--weights"), ParseTypes(parse.GetValue(caches)!, DecoderCache.ParseType, "--cache"),
            parse.GetValue(piece), parse.GetValue(device)!, CommonOptions.AdapterList(parse.GetValue(adapters)))));
        return command;
    }

    private static IReadOnlyList<WeightType> ParseTypes(string list, Func<string, WeightType> parse, string option)
    {
        var types = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(parse).Distinct().ToList();
        return types.Count > 0 ? types : throw new MusicGenException($"{option} names no type");
    }

    private static int Run(int steps, string? keep, ModelSize size, IReadOnlyList<WeightType> types, IReadOnlyList<WeightType> cacheTypes, double piece, string device,
        IReadOnlyList<AdapterReference> adapters)
    {
        if (steps < 1) throw new MusicGenException("--steps must be at least 1");
        if (piece is < 0 or > MusicRequest.MaxWindow) throw new MusicGenException($"--piece must be between 0 and {MusicRequest.MaxWindow} seconds");
        if (File.Exists(keep)) throw new MusicGenException($"--checkpoint {keep} is a file; it takes a folder (reused when it holds a random checkpoint, written otherwise)");
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
            var bandwidth = new MemoryBandwidth();
            Console.WriteLine($"host memory read bandwidth {bandwidth.MeasureGigabytesPerSecond():0.0} GB/s ({Environment.ProcessorCount} threads; measured again beside each weight type's row)");
            using var checkpoint = ModelLocator.OpenCheckpoint(folder, adapters, HubOptions.FromEnvironment(line => Console.Error.WriteLine(line)));
            using var backend = BackendSelector.Open(device);
            Console.WriteLine($"{checkpoint.Weights.ParameterCount / 1e6:0} M parameters on {backend.Name}; decoding steps with guidance (batch 2), median of {steps}");
            TimeWeightTypes(backend, checkpoint, types, steps, bandwidth);
            TimePromptCounts(backend, checkpoint, types[^1], steps);
            CacheBench.Report(backend, checkpoint, types, cacheTypes);
            CodecBench.Report(backend, checkpoint);
            if (piece > 0 && types.Where(t => t is WeightType.Q8 or WeightType.Q4).ToList() is { Count: > 0 } quantized)
                PieceBench.Report(backend, device, checkpoint, quantized, piece);
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
    private static void TimeWeightTypes(IBackend backend, CheckpointFolder checkpoint, IReadOnlyList<WeightType> types, int steps, MemoryBandwidth bandwidth)
    {
        // The host bandwidth is the bar for the CPU backend; a GPU reads its own memory, which is not measured here.
        bool host = backend.Capabilities.OnHost;
        Console.WriteLine($"{"weights",-8}{"load s",8}{"heap GB",9}{"dev GB",8}{"GB/step",9}{"ms/step",9}{"p90 ms",8}{"GB/s",7}{(host ? "  bw GB/s  of bw" : "")}{"steps/s",9}{"RTF",7}{"alloc KiB",11}{"launch/step",12}{"sync/step",10}{"launch/layer",13}{"sync/layer",11}");
        using var floats = FloatProductsBeside(backend);
        var memory = new List<(string Label, DeviceMemory Held)>();
        foreach (var type in types)
        {
            memory.Add((type.Name(), TimeWeightType(backend, checkpoint, type, type.Name(), steps, bandwidth, host)));
            if (floats is not null && type is WeightType.Q8 or WeightType.Q4)
                memory.Add(($"{type.Name()} fma", TimeWeightType(floats, checkpoint, type, $"{type.Name()} fma", steps, bandwidth, host)));
        }
        if (host) Console.WriteLine("  (bw GB/s: the memory-read bandwidth measured just before and just after the row's steps, averaged; of bw: the row's GB/s over it)");
        Console.WriteLine("  (heap: the managed memory the loaded model holds, weights on the CPU; dev: what the backend holds at the last step,"
            + " cache and work buffers included; RTF: compute time per second of audio;"
            + " launch, sync: kernel launches and host–device synchronizations per decoding step and per decoder layer, as the backend counts them)");
        if (floats is not null)
            Console.WriteLine("  (q8, q4: 8-bit integer dot products; q8 fma, q4 fma: the same weights multiplied in float32, as CPUs without AVX-VNNI do)");
        foreach (var (label, held) in memory) Console.WriteLine($"{label,-8}device memory: {held}");
    }

    /// <summary>One row; the model is disposed on return, before the next is loaded. Returns what the backend held at the row's last step.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DeviceMemory TimeWeightType(IBackend backend, CheckpointFolder checkpoint, WeightType type, string label, int steps, MemoryBandwidth bandwidth, bool host)
    {
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var stopwatch = Stopwatch.StartNew();
        using var model = Load(backend, checkpoint, type);
        double load = stopwatch.Elapsed.TotalSeconds;
        long heap = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        // The row's bar: the bandwidth just before and just after its steps, averaged.
        double before = host ? bandwidth.MeasureGigabytesPerSecond(passes: 3) : 0;
        var timing = DecoderBench.TimeSteps(backend, model, prompts: 1, steps);
        double available = host ? (before + bandwidth.MeasureGigabytesPerSecond(passes: 3)) / 2 : 0;
        double bytes = DecoderBench.WeightBytesPerStep(model.Config.Decoder, type);
        double rate = bytes / (timing.MedianMs / 1000) / 1e9;
        double realTime = timing.MedianMs / 1000 * model.Config.AudioEncoder.FrameRate;
        Console.WriteLine($"{label,-8}{load,8:0.0}{heap / 1e9,9:0.00}{timing.Memory.Total / 1e9,8:0.00}{bytes / 1e9,9:0.000}{timing.MedianMs,9:0.0}{timing.P90Ms,8:0.0}{rate,7:0.0}"
            + $"{(host ? $"{available,9:0.0}{100 * rate / available,6:0}%" : "")}{1000 / timing.MedianMs,9:0.0}{realTime,7:0.00}{timing.AllocatedBytesPerStep / 1024.0,11:0.0}"
            + $"{timing.LaunchesPerStep,12:0.#}{timing.SynchronizationsPerStep,10:0.#}{timing.PerLayer.Launches,13}{timing.PerLayer.Synchronizations,11}");
        return timing.Memory;
    }

    /// <summary>The random checkpoint's model (a plain MusicGen one), its adapters checked as for generation.</summary>
    private static MusicgenForConditionalGeneration Load(IBackend backend, CheckpointFolder checkpoint, WeightType type) =>
        (MusicgenForConditionalGeneration)MusicgenModels.Load(backend, checkpoint, type);

    /// <summary>
    /// Decoding steps of 1, 2, 4 and 8 prompts at once; where the CPU multiplies with integer dot products, also
    /// with float products beside them.
    /// </summary>
    private static void TimePromptCounts(IBackend backend, CheckpointFolder checkpoint, WeightType type, int steps)
    {
        using var floats = type is WeightType.Q8 or WeightType.Q4 ? FloatProductsBeside(backend) : null;
        var integer = PromptCountTimes(backend, checkpoint, type, steps);
        var fma = floats is null ? null : PromptCountTimes(floats, checkpoint, type, steps);
        Console.WriteLine($"prompts at once ({type.Name()} weights, guidance doubles the decoder batch){(fma is null ? "" : ": 8-bit integer dot products, then float products")}:");
        for (int i = 0; i < PromptCounts.Length; i++)
        {
            string Row(double ms) => $"{ms,7:0.0} ms/step  {1000 / ms,6:0.0} steps/s  {PromptCounts[i] * 1000 / ms / checkpoint.RequireMusicgen().AudioEncoder.FrameRate,6:0.00} s of audio per second";
            Console.WriteLine($"  {PromptCounts[i]} prompt(s)   {Row(integer[i])}{(fma is null ? "" : $"   | fma {Row(fma[i])}")}");
        }
    }

    /// <summary>Median step times for each of <see cref="PromptCounts"/>, taken in turn; the model is dropped on return.</summary>
    private static double[] PromptCountTimes(IBackend backend, CheckpointFolder checkpoint, WeightType type, int steps)
    {
        using var model = Load(backend, checkpoint, type);
        return DecoderBench.MedianStepMsInTurn(backend, model, PromptCounts, steps);
    }

    /// <summary>A CPU backend with float products beside one that multiplies q8 and q4 with integer dot products; null otherwise.</summary>
    private static CpuBackend? FloatProductsBeside(IBackend backend) =>
        backend is CpuBackend { IntegerProducts: true } ? new CpuBackend(integerProducts: false) : null;
}
