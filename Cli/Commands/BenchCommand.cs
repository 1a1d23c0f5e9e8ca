using System.CommandLine;
using System.Diagnostics;
using MusicGen.Cli.Bench;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Kernels;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Cli.Commands;

/// <summary>
/// <c>musicgen bench</c>: decoding speed on a random checkpoint of musicgen-small's sizes, next to the memory
/// bandwidth of the same machine measured in the same run.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Decoding steps to time", DefaultValueFactory = _ => 40 };
        var checkpointFolder = new Option<string?>("--checkpoint")
        {
            Description = "Folder for the random musicgen-small-sized checkpoint: reused when present, written there otherwise (default: a temporary folder, deleted afterwards)",
        };
        var device = CommonOptions.Device();
        var command = new Command("bench", "Time the decoding step of a musicgen-small-sized model (random weights) with guidance, and the memory bandwidth") { steps, checkpointFolder, device };
        command.SetAction(parse => CommandRunner.Run(() => Run(parse.GetValue(steps), parse.GetValue(checkpointFolder), parse.GetValue(device)!)));
        return command;
    }

    private static int Run(int steps, string? keep, string device)
    {
        if (steps < 1) throw new Loaders.MusicGenException("--steps must be at least 1");
        string folder = keep ?? Path.Combine(Path.GetTempPath(), $"musicgen-bench-{Guid.NewGuid():N}");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            if (!SmallCheckpoint.IsPresent(folder))
            {
                Console.WriteLine($"writing a random musicgen-small-sized checkpoint to {folder} …");
                SmallCheckpoint.Write(folder);
                Console.WriteLine($"  written in {stopwatch.Elapsed.TotalSeconds:0.0} s");
            }
            double bandwidth = MemoryBandwidth.MeasureGigabytesPerSecond();
            Console.WriteLine($"host memory read bandwidth {bandwidth:0.0} GB/s ({Environment.ProcessorCount} threads)");

            stopwatch.Restart();
            using var checkpoint = CheckpointFolder.Open(folder);
            using var backend = BackendSelector.Open(device);
            using var model = new MusicgenForConditionalGeneration(backend, checkpoint);
            Console.WriteLine($"model loaded              {stopwatch.Elapsed.TotalSeconds:0.0} s ({checkpoint.Weights.ParameterCount / 1e6:0} M parameters) on {backend.Name}");
            TimeDecoderSteps(backend, model, steps, bandwidth);
            TimeCodec(backend, model);
            return 0;
        }
        finally
        {
            if (keep is null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    private static void TimeDecoderSteps(IBackend backend, MusicgenForConditionalGeneration model, int steps, double bandwidth)
    {
        var config = model.Config;
        int textLength = 16, batch = 2, codebooks = config.Decoder.NumCodebooks, vocabulary = config.Decoder.VocabSize;
        var random = new Random(1);
        var textIds = Enumerable.Range(0, textLength).Select(_ => random.Next(config.TextEncoder.VocabSize)).ToArray();
        var stopwatch = Stopwatch.StartNew();
        using var encoded = model.TextEncoder.Forward(textIds, Enumerable.Repeat(1f, textLength).ToArray(), 1, textLength);
        Console.WriteLine($"text encoder              {stopwatch.Elapsed.TotalMilliseconds:0} ms for {textLength} tokens");

        using var states = backend.Allocate(batch, textLength, config.TextEncoder.DModel);
        backend.Copy(encoded, states.Slice(0, 1));
        var mask = Enumerable.Range(0, batch * textLength).Select(i => i < textLength ? 1f : 0f).ToArray();
        int warmup = 3;
        using var cache = model.StartDecoding(states, mask, warmup + steps);
        var sampler = new TokenSampler(new SamplingOptions(false, 3.0, 250, 1.0, 1.0, Seed: 1), vocabulary);
        using var logits = backend.Allocate(batch, codebooks * vocabulary);
        var host = new float[batch * codebooks * vocabulary];
        var next = new int[codebooks];
        var feed = Enumerable.Repeat(config.Decoder.BosTokenId, batch * codebooks).ToArray();
        var times = new List<double>();
        long allocatedBefore = 0;
        for (int step = 0; step < warmup + steps; step++)
        {
            if (step == warmup) allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            stopwatch.Restart();
            model.Decoder.Forward(cache, feed, 1, logits, lastOnly: true);
            backend.Download(logits, host);
            sampler.Next(host, codebooks, next);
            for (int i = 0; i < feed.Length; i++) feed[i] = next[i % codebooks];
            if (step >= warmup) times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }
        long allocatedPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / steps;
        times.Sort();
        double median = times[times.Count / 2];
        long d = config.Decoder.HiddenSize, f = config.Decoder.FfnDim;
        // Weights one step streams: self-attention (4 D²), cross-attention queries and outputs (2 D²; its keys
        // and values are computed once), the FFN (2 D F) per layer, and the heads (K V D).
        double weightBytes = 4.0 * (config.Decoder.NumHiddenLayers * (6 * d * d + 2 * d * f) + codebooks * vocabulary * d);
        double stepBandwidth = weightBytes / (median / 1000) / 1e9;
        Console.WriteLine($"decoder step (batch {batch}, guidance) {median:0.0} ms median, {times.Average():0.0} ms mean, {times[(int)(times.Count * 0.9)]:0.0} ms p90 over {steps} steps");
        // The host bandwidth is the bar for the CPU backend; a GPU reads its own memory, which is not measured here.
        string share = backend is CpuBackend ? $", {100 * stepBandwidth / bandwidth:0}% of the measured bandwidth" : "";
        Console.WriteLine($"  weights read per step   {weightBytes / 1e9:0.00} GB -> {stepBandwidth:0.0} GB/s{share}");
        Console.WriteLine($"  that is                 {1000 / median:0.0} steps/s, {1000 / median / config.AudioEncoder.FrameRate:0.00} s of audio per second");
        Console.WriteLine($"  managed allocation      {allocatedPerStep / 1024.0:0.0} KiB per step");
    }

    private static void TimeCodec(IBackend backend, MusicgenForConditionalGeneration model)
    {
        var codec = model.AudioEncoder;
        int frames = 5 * codec.Config.FrameRate, quantizers = codec.Quantizer.NumQuantizers;
        var random = new Random(2);
        var codes = Enumerable.Range(0, quantizers * frames).Select(_ => random.Next(codec.Config.CodebookSize)).ToArray();
        var stopwatch = Stopwatch.StartNew();
        using var audio = codec.Decode(codes, 1, quantizers, frames);
        double seconds = stopwatch.Elapsed.TotalSeconds;
        Console.WriteLine($"EnCodec decode            {seconds:0.00} s for 5 s of audio (real-time factor {seconds / 5:0.00})");
        stopwatch.Restart();
        codec.Encode(audio, quantizers);
        seconds = stopwatch.Elapsed.TotalSeconds;
        Console.WriteLine($"EnCodec encode            {seconds:0.00} s for 5 s of audio (real-time factor {seconds / 5:0.00})");
    }
}
