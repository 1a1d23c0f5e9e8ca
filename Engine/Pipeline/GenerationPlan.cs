using MusicGen.Engine.Generation;

namespace MusicGen.Engine;

/// <summary>
/// A request checked and resolved against a checkpoint, its inputs prepared (audio prompts resampled and padded,
/// melodies turned into chroma), ready to generate: made by <see cref="MusicgenPipeline.Prepare"/>.
/// </summary>
public sealed class GenerationPlan
{
    internal GenerationPlan(GenerationRequest request, int[] paddings)
    {
        Request = request;
        Paddings = paddings;
    }

    internal GenerationRequest Request { get; }

    /// <summary>Per item, the samples of left padding its audio prompt got to match the longest.</summary>
    internal int[] Paddings { get; }

    /// <summary>Items generated together.</summary>
    public int Batch => Request.Batch;

    /// <summary>New decoding steps.</summary>
    public int Steps => Request.MaxNewTokens;

    /// <summary>The sampling settings, seed included.</summary>
    public SamplingOptions Sampling => Request.Sampling;
}
