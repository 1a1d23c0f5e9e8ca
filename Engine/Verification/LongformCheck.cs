using MusicGen.Engine.Generation;

namespace MusicGen.Engine.Verification;

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
        var config = model.Config;
        var generator = new MusicgenGenerator(context.Backend, model, context.Tokenizer, context.Checkpoint.Generation.DecoderStartTokenId);
        var longform = new LongformGenerator(generator, config.AudioEncoder.FrameRate,
            config.Decoder.NumCodebooks / config.Decoder.AudioChannels, config.AudioEncoder.SamplingRate);
        var options = new LongformOptions(settings.GetProperty("duration").GetDouble(), settings.GetProperty("window").GetDouble(),
            settings.GetProperty("extend_stride").GetDouble());
        var sampling = new SamplingOptions(Greedy: true, golden.Number("guidance_scale", 1.0), TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);
        var request = new GenerationRequest(golden.StringList("prompts"), 0, sampling,
            AudioPrompt: GenerationCheck.ReferenceAudioPrompt(golden), Melody: GenerationCheck.ReferenceChroma(golden));

        int batch = request.Batch, channels = config.Decoder.AudioChannels;
        using var stream = new AudioStream(model.AudioEncoder, batch, config.Decoder.NumCodebooks, channels);
        var audio = Enumerable.Range(0, batch * channels).Select(_ => new List<float>()).ToArray();
        void Collect(float[] chunk)
        {
            int length = chunk.Length / audio.Length;
            for (int row = 0; row < audio.Length; row++) audio[row].AddRange(chunk.AsSpan(row * length, length));
        }
        var result = longform.Generate(request, options, onFrames: (codes, _, count) => Collect(stream.Push(codes, count)));
        Collect(stream.Finish());

        produced.Add("longform.codes", [result.Batch, result.Codebooks, result.Frames], result.Codes);
        produced.Add("longform.audio", [batch, channels, audio[0].Count], audio.SelectMany(row => row).ToArray());
    }
}
