using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Cli.Bench;

/// <summary>
/// The decoding step as the key/value cache grows, per weight and cache type: every step reads all the keys and
/// values so far, so a 30 s piece's later steps are slower than its first ones by what the cache adds. The median
/// step over positions 1–250 (a piece's first 5 s) against the median over positions 1250–1500 (its last 5 s); the
/// positions between are filled untimed in pieces, as an audio prompt is.
/// </summary>
public static class CacheBench
{
    private const int EarlyEnd = 250, LateStart = 1250, LateEnd = 1500;

    /// <summary>One row per weight type among <paramref name="weightTypes"/> that is q8 or q4 (else the last) and cache type.</summary>
    public static void Report(IBackend backend, CheckpointFolder checkpoint, IReadOnlyList<WeightType> weightTypes, IReadOnlyList<WeightType> cacheTypes)
    {
        var config = checkpoint.RequireMusicgen().Decoder;
        if (config.MaxPositionEmbeddings < LateEnd) return;
        var quantized = weightTypes.Where(t => t is WeightType.Q8 or WeightType.Q4).ToList();
        Console.WriteLine($"decoding step as the cache grows (guidance, batch 2): median ms over positions 1–{EarlyEnd} and {LateStart}–{LateEnd}");
        Console.WriteLine($"{"weights",-8}{"cache",-6}{"early ms",10}{"late ms",9}{"late/early",12}{"cache MB read",15}");
        foreach (var weights in quantized.Count > 0 ? quantized : [weightTypes[^1]])
            foreach (var cache in cacheTypes)
                TimeRow(backend, checkpoint, config, weights, cache);
        Console.WriteLine($"  (cache MB read: by the step at position {LateEnd}, keys and values of every layer and row)");
    }

    private static void TimeRow(IBackend backend, CheckpointFolder checkpoint, MusicgenDecoderConfig config, WeightType weights, WeightType cacheType)
    {
        using var model = new MusicgenForConditionalGeneration(backend, checkpoint, weights, cacheType);
        using var run = new DecodingSteps(backend, model, prompts: 1);
        run.WarmUp();
        using var cache = run.Start(LateEnd);
        run.Step(cache); // position 0 computes the cross-attention keys and values
        double early = Median(Enumerable.Range(0, EarlyEnd).Select(_ => run.Step(cache)));
        run.Fill(cache, LateStart - cache.Length);
        double late = Median(Enumerable.Range(0, LateEnd - LateStart).Select(_ => run.Step(cache)));
        var stored = model.Decoder.Decoder.CacheType;
        double bytes = 2.0 * config.NumHiddenLayers * 2 * LateEnd * stored.ByteCount(1, config.HiddenSize);
        Console.WriteLine($"{weights.Name(),-8}{stored.Name(),-6}{early,10:0.0}{late,9:0.0}{late / early,12:0.00}{bytes / 1e6,15:0}");
    }

    private static double Median(IEnumerable<double> times)
    {
        var sorted = times.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
