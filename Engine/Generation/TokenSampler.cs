using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Picks the next code of every (batch, codebook) row from the decoder's logits as <see cref="SamplingRule"/>
/// defines it: guidance, then greedy argmax or temperature / top-k / top-p sampling. The random numbers are drawn
/// here, one per row and step, from the seed's <see cref="Xoshiro256"/> sequence, so a seed gives the same codes on
/// every backend. Buffers are reused from step to step.
/// </summary>
public sealed class TokenSampler
{
    private readonly Xoshiro256 _random;
    private readonly float[] _scores;
    private readonly long[] _order;
    private float[] _uniforms = [];

    public int Vocabulary { get; }

    /// <summary>The options as the rule every backend follows.</summary>
    public SamplingRule Rule { get; }

    public TokenSampler(SamplingOptions options, int vocabulary)
    {
        options.Validate();
        Rule = new SamplingRule(options.UsesGuidance, (float)options.GuidanceScale, options.Greedy, (float)options.Temperature, options.TopK, (float)options.TopP);
        _random = new Xoshiro256(options.Seed);
        Vocabulary = vocabulary;
        _scores = new float[vocabulary];
        _order = new long[vocabulary];
    }

    /// <summary>
    /// Next code of each row, picked where the logits are (<see cref="IBackend.SampleCodes"/>): logits holds rows × V
    /// (and, with guidance, the rows of the null half after them); only the codes come back.
    /// </summary>
    public void Next(IBackend backend, Tensor logits, int rows, Span<int> codes)
    {
        backend.SampleCodes(logits, Vocabulary, Rule, Uniforms(rows), codes[..rows]);
        RequireFinite(codes[..rows]);
    }

    /// <summary>
    /// The same on the host from logits already there; scoresOut, if given, receives the guided scores before any
    /// warping.
    /// </summary>
    public void Next(ReadOnlySpan<float> logits, int rows, Span<int> codes, Span<float> scoresOut = default)
    {
        int v = Vocabulary;
        var uniforms = Uniforms(rows);
        for (int r = 0; r < rows; r++)
        {
            Rule.Guide(logits, rows, r, _scores);
            if (!scoresOut.IsEmpty) _scores.CopyTo(scoresOut.Slice(r * v, v));
            codes[r] = Rule.Pick(_scores, Rule.Greedy ? 0f : uniforms[r], _order);
        }
        RequireFinite(codes[..rows]);
    }

    /// <summary>This step's uniform of every row (none when greedy), the rows in order.</summary>
    private ReadOnlySpan<float> Uniforms(int rows)
    {
        if (Rule.Greedy) return [];
        if (_uniforms.Length != rows) _uniforms = new float[rows];
        for (int r = 0; r < rows; r++) _uniforms[r] = SamplingRule.Uniform(_random.NextUInt64());
        return _uniforms;
    }

    private static void RequireFinite(ReadOnlySpan<int> codes)
    {
        int row = codes.IndexOf(-1);
        if (row >= 0) throw new MusicGenException($"the decoder's logits (the checkpoint's weights may hold NaN or infinity) hold a non-finite value in row {row}");
    }
}
