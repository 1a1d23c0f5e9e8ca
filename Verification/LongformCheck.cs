using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Generation;

namespace MusicGen.Verification;

/// <summary>
/// Long-form generation (case.json "longform": duration, window, extend_stride) greedily from the case's prompts
/// and audio prompt: the codes of the whole piece (exact) and its audio, decoded while it is generated, as it is
/// streamed.
/// </summary>
public sealed class LongformCheck : IComponentCheck
{
    public string Component => "Long-form generation";

    public bool Owns(GoldenCase golden, string tensorName) => tensorName.StartsWith("longform.", StringComparison.Ordinal);

    public void Run(CaseContext context, ProducedTensors produced)
    {
        var golden = context.Golden;
        if (!golden.Has("longform.codes") || !golden.Settings.TryGetProperty("longform", out var settings)) return;
        var model = context.Musicgen;
        var chroma = new Lazy<ChromaFeatureExtractor>(() => ChromaFeatureExtractor.FromFolder(context.Checkpoint.Folder));
        var generator = new MusicgenGenerator(context.Backend, model, context.Tokenizer, context.Checkpoint.Generation.DecoderStartTokenId, chroma);
        var codec = model.Config.AudioEncoder;
        var prompts = golden.StringList("prompts");
        var plan = new GenerationPlan(prompts, prompts.Length, GenerationCheck.GreedySampling(golden), generator.Layout, codec.FrameRate, codec.HopLength,
            duration: settings.GetProperty("duration").GetDouble(), window: settings.GetProperty("window").GetDouble(),
            extendStride: settings.GetProperty("extend_stride").GetDouble(), audioPrompt: GenerationCheck.ReferenceAudioPrompt(golden, codec.SamplingRate),
            chroma: GenerationCheck.ReferenceChroma(golden), tunes: ReferenceTunes(golden));

        // One frame at a time, as a stream decodes the audio at its finest.
        var audio = new KeptAudio(chunkFrames: 1);
        var codes = generator.Generate(plan, audio).Codes;
        var layout = generator.Layout;
        produced.Add("longform.codes", [codes.Batch, layout.Codebooks, codes.Frames], layout.ToDecoder(codes.Values, codes.Batch, codes.Frames));
        produced.Add("longform.audio", audio.Whole.Shape, audio.Whole.Values);
    }

    /// <summary>The tunes a melody case follows (longform.melody.waveforms [B, S], zero-padded, and their lengths).</summary>
    private static float[][]? ReferenceTunes(GoldenCase golden)
    {
        if (!golden.Has("longform.melody.waveforms")) return null;
        int length = golden.Shape("longform.melody.waveforms")[1];
        var samples = golden.Float("longform.melody.waveforms");
        return golden.Int32("longform.melody.lengths", 0, length).Select((n, b) => samples.AsSpan(b * length, n).ToArray()).ToArray();
    }
}
