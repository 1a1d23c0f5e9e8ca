using MusicGen.Engine.Backends;
using MusicGen.Engine.Generation;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Generation;

public class TokenSamplerTests
{
    private static SamplingOptions Sampling(double guidance = 1, int topK = 0, double topP = 1, double temperature = 1, ulong seed = 1, bool greedy = false) =>
        new(greedy, guidance, topK, topP, temperature, seed);

    [Fact]
    public void Greedy_with_guidance_takes_the_argmax_of_uncond_plus_scale_times_the_difference()
    {
        Properties.ForAll(Properties.Ints((1, 4), (2, 50), (0, 1000)), s =>
        {
            var (rows, vocabulary, seed) = (s[0], s[1], s[2]);
            var logits = RandomData.Uniform(seed, 2 * rows * vocabulary, 3f);
            var sampler = new TokenSampler(Sampling(guidance: 3, greedy: true), vocabulary);
            var codes = new int[rows];
            var scores = new float[rows * vocabulary];
            sampler.Next(logits, rows, codes, scores);
            for (int r = 0; r < rows; r++)
            {
                var guided = Enumerable.Range(0, vocabulary)
                    .Select(v => logits[(rows + r) * vocabulary + v] + (logits[r * vocabulary + v] - logits[(rows + r) * vocabulary + v]) * 3f).ToArray();
                Assert.Equal(guided, scores.Skip(r * vocabulary).Take(vocabulary));
                Assert.Equal(Array.IndexOf(guided, guided.Max()), codes[r]);
            }
        });
    }

    [Fact]
    public void Top_k_only_ever_picks_among_the_k_best_and_top_k_1_is_greedy()
    {
        Properties.ForAll(Properties.Ints((1, 10), (10, 60), (0, 1000)), s =>
        {
            var (k, vocabulary, seed) = (s[0], s[1], s[2]);
            var logits = RandomData.Uniform(seed, vocabulary, 4f);
            var allowed = logits.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(k).Select(p => p.i).ToHashSet();
            var sampler = new TokenSampler(Sampling(topK: k, seed: (ulong)seed), vocabulary);
            var code = new int[1];
            for (int draw = 0; draw < 50; draw++)
            {
                sampler.Next(logits, 1, code);
                Assert.Contains(code[0], allowed);
            }
            var greedy = new TokenSampler(Sampling(topK: 1, seed: (ulong)seed), vocabulary);
            greedy.Next(logits, 1, code);
            Assert.Equal(Array.IndexOf(logits, logits.Max()), code[0]);
        }, cases: 50);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 keeps the first two; 0.85 keeps three.
        var logits = new[] { 0.5f, 0.3f, 0.15f, 0.05f }.Select(p => MathF.Log(p)).ToArray();
        foreach (var (p, allowed) in new[] { (0.7, new[] { 0, 1 }), (0.85, new[] { 0, 1, 2 }), (0.1, new[] { 0 }) })
        {
            var sampler = new TokenSampler(Sampling(topP: p, seed: 3), 4);
            var seen = new HashSet<int>();
            var code = new int[1];
            for (int draw = 0; draw < 400; draw++)
            {
                sampler.Next(logits, 1, code);
                seen.Add(code[0]);
            }
            Assert.Equal(allowed, seen.Order());
        }
    }

    [Fact]
    public void Pick_by_selection_gives_the_code_of_the_definition_by_a_full_sort()
    {
        // Scores rounded to quarters tie often, and ties are where the order's index rule decides.
        Properties.ForAll(Properties.Ints((10, 300), (0, 110), (0, 4), (0, 1000)), s =>
        {
            // top-k 0 (off), else from 1 to past the vocabulary.
            var (vocabulary, topK, pStep, seed) = (s[0], s[1] == 0 ? 0 : 1 + s[1] * s[0] / 100, s[2], s[3]);
            float topP = pStep == 4 ? 1f : 0.2f * (pStep + 1);
            var rule = new SamplingRule(false, 1f, false, 0.7f, topK, topP);
            var logits = RandomData.Uniform(seed, vocabulary, 3f).Select(x => MathF.Round(4 * x) / 4).ToArray();
            float uniform = SamplingRule.Uniform((ulong)seed * 0x9E3779B97F4A7C15UL);
            int picked = rule.Pick(logits.ToArray(), uniform, new long[vocabulary]);
            Assert.Equal(PickByFullSort(rule, logits, uniform), picked);
        }, cases: 400);
    }

    /// <summary>The rule as SamplingRule documents it, every score in one sorted order.</summary>
    private static int PickByFullSort(SamplingRule rule, float[] logits, float uniform)
    {
        int v = logits.Length;
        var scores = logits.Select(x => x * rule.InverseTemperature).ToArray();
        var order = Enumerable.Range(0, v).OrderBy(i => scores[i]).ThenBy(i => i).ToArray();
        int topK = rule.TopK == 0 ? v : Math.Min(rule.TopK, v);
        float threshold = scores[order[v - topK]];
        for (int i = 0; i < v; i++) if (scores[i] < threshold) scores[i] = float.NegativeInfinity;
        if (rule.TopP < 1f)
        {
            float top = scores[order[v - 1]], total = 0f, cumulative = 0f;
            foreach (int i in order) total += MathF.Exp(scores[i] - top);
            for (int n = 0; n < v - 1; n++)
            {
                cumulative += MathF.Exp(scores[order[n]] - top) / total;
                if (cumulative > 1f - rule.TopP) break;
                scores[order[n]] = float.NegativeInfinity;
            }
        }
        float max = scores.Max(), sum = 0f, running = 0f;
        foreach (float x in scores) sum += MathF.Exp(x - max);
        float target = uniform * sum;
        int last = 0;
        for (int i = 0; i < v; i++)
        {
            if (scores[i] == float.NegativeInfinity) continue;
            running += MathF.Exp(scores[i] - max);
            last = i;
            if (running > target) return i;
        }
        return last;
    }

    [Fact]
    public void Sampling_follows_the_softmax_and_a_seed_reproduces_it()
    {
        var logits = new[] { 0.1f, 0.2f, 0.3f, 0.4f }.Select(p => MathF.Log(p)).ToArray();
        var counts = new int[4];
        var sampler = new TokenSampler(Sampling(seed: 42), 4);
        var code = new int[1];
        var first = new List<int>();
        for (int draw = 0; draw < 20000; draw++)
        {
            sampler.Next(logits, 1, code);
            counts[code[0]]++;
            if (draw < 100) first.Add(code[0]);
        }
        for (int i = 0; i < 4; i++) Assert.InRange(counts[i] / 20000.0, (i + 1) / 10.0 - 0.015, (i + 1) / 10.0 + 0.015);

        var again = new TokenSampler(Sampling(seed: 42), 4);
        var replay = Enumerable.Range(0, 100).Select(_ => { again.Next(logits, 1, code); return code[0]; }).ToList();
        Assert.Equal(first, replay);
        var other = new TokenSampler(Sampling(seed: 43), 4);
        Assert.NotEqual(first, Enumerable.Range(0, 100).Select(_ => { other.Next(logits, 1, code); return code[0]; }).ToList());
    }

    [Fact]
    public void A_low_temperature_sharpens_and_bad_options_are_refused()
    {
        var logits = new[] { 1f, 1.5f, 0.5f };
        var cold = new TokenSampler(Sampling(temperature: 0.01, seed: 5), 3);
        var code = new int[1];
        for (int draw = 0; draw < 100; draw++)
        {
            cold.Next(logits, 1, code);
            Assert.Equal(1, code[0]);
        }
        Assert.Throws<InvalidRequestException>(() => new TokenSampler(Sampling(temperature: 0), 3));
        Assert.Throws<InvalidRequestException>(() => new TokenSampler(Sampling(topP: 0), 3));
        Assert.Throws<InvalidRequestException>(() => new TokenSampler(Sampling(topK: -1), 3));
        Assert.Throws<InvalidRequestException>(() => new TokenSampler(Sampling(guidance: -1), 3));
    }
}
