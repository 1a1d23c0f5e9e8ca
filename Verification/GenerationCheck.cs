using MusicGen.Engine;
using MusicGen.Engine.Audio;
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
        var codec = context.Musicgen.Config.AudioEncoder;
        var plan = new GenerationPlan(golden.StringList("prompts"), golden.Shape("generate.codes")[0], GreedySampling(golden), generator.Layout,
            codec.FrameRate, codec.HopLength, steps: (int)golden.Number("max_new_tokens", 0), audioPrompt: ReferenceAudioPrompt(golden, codec.SamplingRate),
            chroma: ReferenceChroma(golden));
        context.Musicgen.Inspector = (name, tensor) =>
        {
            if (GoldenName(golden, name) is string goldenName) produced.Add(goldenName, tensor);
        };
        var audio = new KeptAudio(chunkFrames: null);
        GenerationResult result;
        try
        {
            result = generator.Generate(plan, audio);
        }
        finally
        {
            context.Musicgen.Inspector = null;
        }

        var codes = result.Codes;
        var layout = generator.Layout;
        produced.Add("generate.delayed_ids", [codes.Batch * layout.Codebooks, result.SequenceLength], result.DelayedIds);
        produced.Add("generate.codes", [codes.Batch, layout.Codebooks, codes.Frames], layout.ToDecoder(codes.Values, codes.Batch, codes.Frames));
        produced.Add("generate.audio", audio.Whole.Shape, audio.Whole.Values);
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

    /// <summary>The reference's greedy generate, with the case's guidance scale.</summary>
    internal static SamplingOptions GreedySampling(GoldenCase golden) =>
        new(Greedy: true, golden.Number("guidance_scale", 1.0), TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);

    /// <summary>The case's processed audio prompt (input_values [B, C, S], its left padding where padding_mask is 0), if it has one.</summary>
    internal static AudioBatch? ReferenceAudioPrompt(GoldenCase golden, int sampleRate)
    {
        if (!golden.Has("input_values")) return null;
        int[] shape = golden.Shape("input_values");
        var mask = golden.Int("padding_mask"); // [B, S]
        var starts = Enumerable.Range(0, shape[0]).Select(b => mask.Skip(b * shape[2]).Take(shape[2]).TakeWhile(m => m == 0).Count()).ToArray();
        return new AudioBatch(sampleRate, shape[0], shape[1], shape[2], golden.Float("input_values"), starts);
    }

    /// <summary>The reference's chroma (input_features), so that generation is checked apart from feature extraction.</summary>
    internal static MelodyChroma? ReferenceChroma(GoldenCase golden)
    {
        if (!golden.Has("input_features")) return null;
        int[] shape = golden.Shape("input_features"); // [B, frames, bins]
        return new MelodyChroma(shape[0], shape[1], shape[2], golden.Float("input_features").Select(v => (int)v).ToArray());
    }
}

/// <summary>A generation's audio, kept: decoded whole (no chunk frames), or streamed in chunks of that many frames and joined.</summary>
internal sealed class KeptAudio(int? chunkFrames) : GenerationSink
{
    private readonly List<AudioBatch> _chunks = [];

    public override int? ChunkFrames => chunkFrames;

    public override void OnAudio(AudioBatch chunk) => _chunks.Add(chunk);

    /// <summary>The chunks one after another.</summary>
    public AudioBatch Whole => AudioBatch.Concatenate(_chunks);
}
