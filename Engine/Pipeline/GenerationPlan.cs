using MusicGen.Engine.Generation;

namespace MusicGen.Engine;

/// <summary>
/// A request checked and resolved against a checkpoint, its inputs prepared (audio prompts resampled and padded,
/// melodies turned into chroma), ready to generate: made by <see cref="MusicgenPipeline.Prepare"/>.
/// </summary>
public sealed class GenerationPlan
{
    internal GenerationPlan(GenerationRequest request, int[] paddings, LongformOptions? longform = null, int longformSteps = 0,
        IReadOnlyList<float[]>? melodyWaveforms = null)
    {
        Request = request;
        Paddings = paddings;
        Longform = longform;
        Steps = longform is null ? request.MaxNewTokens : longformSteps;
        MelodyWaveforms = melodyWaveforms;
    }

    internal GenerationRequest Request { get; }

    /// <summary>How the piece is cut into windows, when it is longer than one window.</summary>
    internal LongformOptions? Longform { get; }

    /// <summary>A long piece's melodies (mono, at the chroma extractor's rate), whose chroma each window takes from its own offset.</summary>
    internal IReadOnlyList<float[]>? MelodyWaveforms { get; }

    /// <summary>Per item, the samples of left padding its audio prompt got to match the longest.</summary>
    internal int[] Paddings { get; }

    /// <summary>Items generated together.</summary>
    public int Batch => Request.Batch;

    /// <summary>New decoding steps, over every window of a long piece.</summary>
    public int Steps { get; }

    /// <summary>Whether the piece is longer than one window (generated as audiocraft extends a piece).</summary>
    public bool IsLongform => Longform is not null;

    /// <summary>The sampling settings, seed included.</summary>
    public SamplingOptions Sampling => Request.Sampling;
}
