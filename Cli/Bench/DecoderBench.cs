using System.Diagnostics;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Cli.Bench;

/// <summary>
/// What one timed run of decoding steps measured, what the backend held at its last step, and its kernel launches and
/// synchronizations per step (<see cref="IBackend.Counters"/> over the timed steps) and per decoder layer (one more step's).
/// </summary>
public sealed record StepTiming(double MedianMs, double MeanMs, double P90Ms, long AllocatedBytesPerStep, DeviceMemory Memory,
    double LaunchesPerStep, double SynchronizationsPerStep, BackendCounters PerLayer);

/// <summary>
/// Times decoding steps of a loaded model as generation runs them: guidance doubles the prompts into the decoder
/// batch, every step downloads the logits and samples the next codes.
/// </summary>
public static class DecoderBench
{
    public static StepTiming TimeSteps(IBackend backend, MusicgenForConditionalGeneration model, int prompts, int steps)
    {
        using var run = new DecodingSteps(backend, model, prompts);
        run.WarmUp();
        // The first step of a cache computes the cross-attention keys and values once; it is not timed, nor is the
        // last, which counts one layer's launches.
        using var cache = run.Start(2 + steps);
        run.Step(cache);
        var times = new List<double>(steps);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var countersBefore = backend.Counters;
        for (int step = 0; step < steps; step++) times.Add(run.Step(cache));
        var counted = backend.Counters - countersBefore;
        long allocatedPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / steps;
        var layer = run.CountOneLayer(cache);
        times.Sort();
        return new StepTiming(times[times.Count / 2], times.Average(), times[(int)(times.Count * 0.9)], allocatedPerStep, backend.Memory,
            (double)counted.Launches / steps, (double)counted.Synchronizations / steps, layer);
    }

    /// <summary>
    /// Median step times of several prompt counts, their steps taken in turn (one step of each count, then the next
    /// round): a host whose speed drifts during the run slows every count alike, so their ratios hold.
    /// </summary>
    public static double[] MedianStepMsInTurn(IBackend backend, MusicgenForConditionalGeneration model, int[] promptCounts, int steps)
    {
        var runs = promptCounts.Select(prompts => new DecodingSteps(backend, model, prompts)).ToArray();
        var caches = new List<DecoderCache>();
        try
        {
            foreach (var run in runs)
            {
                run.WarmUp();
                caches.Add(run.Start(1 + steps));
                run.Step(caches[^1]);
            }
            var times = runs.Select(_ => new double[steps]).ToArray();
            for (int step = 0; step < steps; step++)
                for (int i = 0; i < runs.Length; i++) times[i][step] = runs[i].Step(caches[i]);
            return times.Select(t => t.Order().ElementAt(steps / 2)).ToArray();
        }
        finally
        {
            foreach (var cache in caches) cache.Dispose();
            foreach (var run in runs) run.Dispose();
        }
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

/// <summary>
/// Decoding steps of a loaded model for some prompts of random text, run as generation runs them: guidance doubles
/// the prompts into the decoder batch (the second half unconditional, its text masked out), every step downloads
/// the logits and samples the next codes.
/// </summary>
public sealed class DecodingSteps : IDisposable
{
    private const int TextLength = 16, MinimumWarmup = 5, WarmupLimit = 200;

    /// <summary>
    /// Steps run untimed until this long has passed: the runtime recompiles hot methods in the background during
    /// the first second or so, and a type measured first would otherwise pay for it.
    /// </summary>
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(1.5);

    private readonly IBackend _backend;
    private readonly MusicgenForConditionalGeneration _model;
    private readonly int _prompts;
    private readonly Tensor _states, _logits;
    private readonly float[] _mask;
    private readonly int[] _next, _feed;
    private readonly TokenSampler _sampler;
    private readonly Stopwatch _stopwatch = new();

    public DecodingSteps(IBackend backend, MusicgenForConditionalGeneration model, int prompts)
    {
        (_backend, _model, _prompts) = (backend, model, prompts);
        var config = model.Config;
        int batch = 2 * prompts, codebooks = config.Decoder.NumCodebooks, vocabulary = config.Decoder.VocabSize;
        var random = new Random(1);
        var textIds = Enumerable.Range(0, TextLength).Select(_ => random.Next(config.TextEncoder.VocabSize)).ToArray();
        using var encoded = model.TextEncoder.Forward(textIds, Enumerable.Repeat(1f, TextLength).ToArray(), 1, TextLength);
        _states = backend.Allocate(batch, TextLength, config.TextEncoder.DModel);
        for (int p = 0; p < prompts; p++) backend.Copy(encoded, _states.Slice(p, 1));
        _mask = Enumerable.Range(0, batch * TextLength).Select(i => i < prompts * TextLength ? 1f : 0f).ToArray();
        _sampler = new TokenSampler(new SamplingOptions(false, 3.0, 250, 1.0, 1.0, Seed: 1), vocabulary);
        _logits = backend.Allocate(batch, codebooks * vocabulary);
        _next = new int[prompts * codebooks];
        _feed = Enumerable.Repeat(config.Decoder.BosTokenId, batch * codebooks).ToArray();
    }

    /// <summary>A cache for <paramref name="capacity"/> positions of these prompts.</summary>
    public DecoderCache Start(int capacity) => _model.StartDecoding(_states, _mask, capacity);

    /// <summary>Runs steps in a cache of their own for as long as the warm-up takes.</summary>
    public void WarmUp()
    {
        using var warmup = Start(WarmupLimit);
        var elapsed = Stopwatch.StartNew();
        for (int step = 0; step < WarmupLimit && (step < MinimumWarmup || elapsed.Elapsed < WarmupTime); step++) Step(warmup);
    }

    /// <summary>
    /// Runs <paramref name="positions"/> more positions through the cache in pieces of at most 250, as an audio prompt
    /// is run (untimed): the keys and values a long piece's later steps attend over, without stepping to them one by one.
    /// </summary>
    public void Fill(DecoderCache cache, int positions)
    {
        var ids = Enumerable.Repeat(_model.Config.Decoder.BosTokenId, 2 * _prompts * _model.Config.Decoder.NumCodebooks * Math.Min(positions, 250)).ToArray();
        for (int done = 0; done < positions; done += 250)
        {
            int tokens = Math.Min(250, positions - done);
            _model.Decoder.Forward(cache, ids.AsSpan(0, 2 * _prompts * _model.Config.Decoder.NumCodebooks * tokens), tokens, _logits, lastOnly: true);
        }
    }

    /// <summary>One step at the cache's next position; its milliseconds.</summary>
    public double Step(DecoderCache cache)
    {
        _stopwatch.Restart();
        _model.Decoder.Forward(cache, _feed, 1, _logits, lastOnly: true);
        _sampler.Next(_backend, _logits, _prompts * _model.Config.Decoder.NumCodebooks, _next);
        for (int i = 0; i < _feed.Length; i++) _feed[i] = _next[i % _next.Length];
        return _stopwatch.Elapsed.TotalMilliseconds;
    }

    /// <summary>
    /// Runs one more step, returning the launches and synchronizations of one decoder layer in it: the counters'
    /// growth from the first layer's end to the last's, divided among the layers between (the decoder's inspector
    /// sees each layer's end; the step's fixed part, embeddings, final norm, heads and sampling, falls outside).
    /// </summary>
    public BackendCounters CountOneLayer(DecoderCache cache)
    {
        var decoder = _model.Decoder.Decoder;
        int layers = decoder.Layers.Count;
        BackendCounters first = default, last = default;
        decoder.Inspector = (name, _) =>
        {
            if (name == "layers.0") first = _backend.Counters;
            else if (name == $"layers.{layers - 1}") last = _backend.Counters;
        };
        try { Step(cache); }
        finally { decoder.Inspector = null; }
        var between = last - first;
        return layers < 2 ? default : new(between.Launches / (layers - 1), between.Synchronizations / (layers - 1));
    }

    public void Dispose()
    {
        _states.Dispose();
        _logits.Dispose();
    }
}
