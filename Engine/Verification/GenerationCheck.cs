using MusicGen.Engine.Backends;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Verification;

/// <summary>
/// Greedy generation end to end from the case's prompts: the delayed sequence, the codes (exact) and the
/// decoded audio.
/// </summary>
public sealed class GenerationCheck : IComponentCheck
{
    public string Component => "MusicGen generation";

    public bool Owns(GoldenCase golden, string tensorName) =>
        golden.Kind == "musicgen" && tensorName.StartsWith("generate.", StringComparison.Ordinal) && !golden.Has("input_values");

    public void Run(GoldenCase golden, CheckpointFolder checkpoint, IBackend backend, ProducedTensors produced)
    {
        if (!Owns(golden, "generate.codes") || !golden.Has("generate.codes")) return;
        var model = new MusicgenForConditionalGeneration(backend, checkpoint);
        var generator = new MusicgenGenerator(backend, model, T5Tokenizer.FromFolder(checkpoint.Folder), checkpoint.Generation.DecoderStartTokenId);
        var sampling = new SamplingOptions(Greedy: true, golden.Number("guidance_scale", 1.0), TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);
        var request = new GenerationRequest(golden.StringList("prompts"), (int)golden.Number("max_new_tokens", 0), sampling,
            UnconditionalBatch: golden.Shape("generate.codes")[0]);
        var result = generator.Generate(request);

        produced.Add("generate.delayed_ids", [result.Batch * result.Codebooks, result.SequenceLength], result.DelayedIds);
        produced.Add("generate.codes", [result.Batch, result.Codebooks, result.Frames], result.Codes);
        var audio = generator.DecodeAudio(result, out int channels, out int samples);
        produced.Add("generate.audio", [result.Batch, channels, samples], audio);
    }
}
