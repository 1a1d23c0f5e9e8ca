using MusicGen.Engine.Generation;

namespace MusicGen.Verification;

/// <summary>
/// Greedy generation end to end from the case's prompts (continuing its audio prompt, following its chroma for
/// a melody model): the conditioning, the delayed sequence, the codes (exact) and the decoded audio.
/// </summary>
public sealed class GenerationCheck : IComponentCheck
{
    public string Component => "MusicGen generation";

    public bool Owns(GoldenCase golden, string tensorName) =>
        golden.Kind is "musicgen" or "musicgen_melody"
        && (tensorName.StartsWith("generate.", StringComparison.Ordinal) || tensorName == "teacher.conditioning");

    public void Run(CaseContext context, ProducedTensors produced)
    {
        var (golden, backend, checkpoint) = (context.Golden, context.Backend, context.Checkpoint);
        if (!Owns(golden, "generate.codes") || !golden.Has("generate.codes")) return;
        var generator = new MusicgenGenerator(backend, context.Musicgen, context.Tokenizer, checkpoint.Generation.DecoderStartTokenId);
        var sampling = new SamplingOptions(Greedy: true, golden.Number("guidance_scale", 1.0), TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);
        var request = new GenerationRequest(golden.StringList("prompts"), (int)golden.Number("max_new_tokens", 0), sampling,
            UnconditionalBatch: golden.Shape("generate.codes")[0], AudioPrompt: ReferenceAudioPrompt(golden), Melody: ReferenceChroma(golden));
        context.Musicgen.Inspector = (name, tensor) =>
        {
            if (GoldenName(golden, name) is string goldenName) produced.Add(goldenName, tensor);
        };
        GenerationResult result;
        try
        {
            result = generator.Generate(request);
        }
        finally
        {
            context.Musicgen.Inspector = null;
        }

        var codes = result.Codes;
        var layout = generator.Layout;
        produced.Add("generate.delayed_ids", [codes.Batch * layout.Codebooks, result.SequenceLength], result.DelayedIds);
        produced.Add("generate.codes", [codes.Batch, layout.Codebooks, codes.Frames], layout.ToDecoder(codes.Values, codes.Batch, codes.Frames));
        var audio = generator.DecodeAudio(codes);
        produced.Add("generate.audio", audio.Shape, audio.Values);
    }

    /// <summary>
    /// The reference tensor a conditioning tensor of the model is compared with: the melody model's generate()
    /// projections and its decoder prefix; the text projection of the cross-attention model, which the teacher
    /// pass also produces, is taken from generation.
    /// </summary>
    private static string? GoldenName(GoldenCase golden, string name) => name switch
    {
        "enc_to_dec_proj" => golden.Kind == "musicgen_melody" ? "generate.enc_to_dec_proj" : "enc_to_dec_proj",
        "audio_enc_to_dec_proj" => "generate.audio_enc_to_dec_proj",
        "encoder_hidden_states" => "teacher.conditioning",
        _ => null,
    };

    /// <summary>The case's processed audio prompt (input_values, padding_mask), if it has one.</summary>
    internal static AudioPrompt? ReferenceAudioPrompt(GoldenCase golden)
    {
        if (!golden.Has("input_values")) return null;
        int[] shape = golden.Shape("input_values"); // [B, C, S]
        var mask = golden.Int("padding_mask").Select(v => (float)v).ToArray();
        return new AudioPrompt(shape[0], shape[1], shape[2], golden.Float("input_values"), mask);
    }

    /// <summary>The reference's chroma (input_features), so that generation is checked apart from feature extraction.</summary>
    internal static MelodyChroma? ReferenceChroma(GoldenCase golden)
    {
        if (!golden.Has("input_features")) return null;
        int[] shape = golden.Shape("input_features"); // [B, frames, bins]
        return new MelodyChroma(shape[0], shape[1], shape[2], golden.Float("input_features").Select(v => (int)v).ToArray());
    }
}
