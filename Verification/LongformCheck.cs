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
        var generator = new MusicgenGenerator(context.Backend, model, context.Tokenizer, context.Checkpoint.Generation.DecoderStartTokenId);
        var longform = new LongformGenerator(generator, model.Config.AudioEncoder.FrameRate, model.Config.AudioEncoder.SamplingRate);
        var options = new LongformOptions(settings.GetProperty("duration").GetDouble(), settings.GetProperty("window").GetDouble(),
            settings.GetProperty("extend_stride").GetDouble());
        var sampling = new SamplingOptions(Greedy: true, golden.Number("guidance_scale", 1.0), TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);
        var request = new GenerationRequest(golden.StringList("prompts"), 0, sampling,
            AudioPrompt: GenerationCheck.ReferenceAudioPrompt(golden), Melody: GenerationCheck.ReferenceChroma(golden));

        var melodyAt = ReferenceTunes(golden) is { } tunes
            ? LongformGenerator.MelodyFollower(ChromaFeatureExtractor.FromFolder(context.Checkpoint.Folder), tunes, options.Window)
            : null;
        var layout = generator.Layout;
        using var stream = new AudioStream(model.AudioEncoder, request.Batch, layout.Channels, layout.CodebooksPerChannel);
        var chunks = new List<AudioBatch>();
        var codes = longform.Generate(request, options, onFrames: (frames, _) => chunks.Add(stream.Push(frames)), melodyAt: melodyAt).Codes;
        chunks.Add(stream.Finish());

        produced.Add("longform.codes", [codes.Batch, layout.Codebooks, codes.Frames], layout.ToDecoder(codes.Values, codes.Batch, codes.Frames));
        var audio = Joined(chunks);
        produced.Add("longform.audio", audio.Shape, audio.Values);
    }

    /// <summary>The tunes a melody case follows (longform.melody.waveforms [B, S], zero-padded, and their lengths).</summary>
    private static float[][]? ReferenceTunes(GoldenCase golden)
    {
        if (!golden.Has("longform.melody.waveforms")) return null;
        int length = golden.Shape("longform.melody.waveforms")[1];
        var samples = golden.Float("longform.melody.waveforms");
        return golden.Int32("longform.melody.lengths", 0, length).Select((n, b) => samples.AsSpan(b * length, n).ToArray()).ToArray();
    }

    /// <summary>Chunks of audio one after another.</summary>
    private static AudioBatch Joined(IReadOnlyList<AudioBatch> chunks)
    {
        var first = chunks[0];
        int samples = chunks.Sum(c => c.Samples), at = 0, rows = first.Batch * first.Channels;
        var values = new float[rows * samples];
        foreach (var chunk in chunks)
        {
            for (int row = 0; row < rows; row++) chunk.Values.AsSpan(row * chunk.Samples, chunk.Samples).CopyTo(values.AsSpan(row * samples + at));
            at += chunk.Samples;
        }
        return new AudioBatch(first.SampleRate, first.Batch, first.Channels, samples, values);
    }
}
