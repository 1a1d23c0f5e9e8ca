using System.Diagnostics;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Cli.Bench;

/// <summary>What one timed run of decoding steps measured, and what the backend held at its last step.</summary>
public sealed record StepTiming(double MedianMs, double MeanMs, double P90Ms, long AllocatedBytesPerStep, DeviceMemory Memory);

/// <summary>
/// Times decoding steps of a loaded model as generation runs them: guidance doubles the prompts into the decoder
/// batch, every step downloads the logits and samples the next codes.
/// </summary>
public static class DecoderBench
{
    private const int TextLength = 16, MinimumWarmup = 5;

    /// <summary>
    /// Steps run untimed until this long has passed: the runtime recompiles hot methods in the background during
    /// the first second or so, and a type measured first would otherwise pay for it.
    /// </summary>
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(1.5);

    public static StepTiming TimeSteps(IBackend backend, MusicgenForConditionalGeneration model, int prompts, int steps)
    {
        var config = model.Config;
        int batch = 2 * prompts, codebooks = config.Decoder.NumCodebooks, vocabulary = config.Decoder.VocabSize;
        var random = new Random(1);
        var textIds = Enumerable.Range(0, TextLength).Select(_ => random.Next(config.TextEncoder.VocabSize)).ToArray();
        using var encoded = model.TextEncoder.Forward(textIds, Enumerable.Repeat(1f, TextLength).ToArray(), 1, TextLength);
        using var states = backend.Allocate(batch, TextLength, config.TextEncoder.DModel);
        for (int p = 0; p < prompts; p++) backend.Copy(encoded, states.Slice(p, 1));
        // The second half of the rows is the unconditional one: its text is masked out.
        var mask = Enumerable.Range(0, batch * TextLength).Select(i => i < prompts * TextLength ? 1f : 0f).ToArray();
        var sampler = new TokenSampler(new SamplingOptions(false, 3.0, 250, 1.0, 1.0, Seed: 1), vocabulary);
        using var logits = backend.Allocate(batch, codebooks * vocabulary);
        var host = new float[batch * codebooks * vocabulary];
        var next = new int[prompts * codebooks];
        var feed = Enumerable.Repeat(config.Decoder.BosTokenId, batch * codebooks).ToArray();
        var stopwatch = new Stopwatch();
        double Step(DecoderCache cache)
        {
            stopwatch.Restart();
            model.Decoder.Forward(cache, feed, 1, logits, lastOnly: true);
            backend.Download(logits, host);
            sampler.Next(host, prompts * codebooks, next);
            for (int i = 0; i < feed.Length; i++) feed[i] = next[i % next.Length];
            return stopwatch.Elapsed.TotalMilliseconds;
        }

        // The warm-up runs in a cache of its own, as long as it takes.
        const int warmupLimit = 200;
        using (var warmup = model.StartDecoding(states, mask, warmupLimit))
        {
            var elapsed = Stopwatch.StartNew();
            for (int step = 0; step < warmupLimit && (step < MinimumWarmup || elapsed.Elapsed < WarmupTime); step++) Step(warmup);
        }
        // The first step of a cache computes the cross-attention keys and values once; it is not timed.
        using var cache = model.StartDecoding(states, mask, 1 + steps);
        Step(cache);
        var times = new List<double>(steps);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (int step = 0; step < steps; step++) times.Add(Step(cache));
        long allocatedPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / steps;
        times.Sort();
        return new StepTiming(times[times.Count / 2], times.Average(), times[(int)(times.Count * 0.9)], allocatedPerStep, backend.Memory);
    }

    /// <summary>
    /// Weight bytes one step streams: per layer self-attention (4 D²), cross-attention queries and outputs (2 D²;
    /// its keys and values are computed once), the FFN (2 D F), and the stacked heads (K V × D), in that type.
    /// </summary>
    public static long WeightBytesPerStep(MusicgenDecoderConfig config, WeightType type)
    {
        int d = config.HiddenSize, f = config.FfnDim;
        long layer = 6 * type.ByteCount(d, d) + type.ByteCount(f, d) + type.ByteCount(d, f);
        return config.NumHiddenLayers * layer + type.ByteCount((long)config.NumCodebooks * config.VocabSize, d);
    }
}
