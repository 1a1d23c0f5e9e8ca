using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Verification;

/// <summary>
/// The decoder in one teacher-forced pass over the reference's decoder inputs and encoder states: the
/// projection, every layer, the final norm, and the logits (guided for every position, raw for the last).
/// </summary>
public sealed class TeacherForcingCheck : IComponentCheck
{
    public string Component => "MusicGen decoder";

    public bool Owns(GoldenCase golden, string tensorName) =>
        golden.Kind == "musicgen" && (tensorName.StartsWith("teacher.", StringComparison.Ordinal)
            || tensorName.StartsWith("decoder.", StringComparison.Ordinal) || tensorName == "enc_to_dec_proj");

    public void Run(GoldenCase golden, CheckpointFolder checkpoint, IBackend backend, ProducedTensors produced)
    {
        if (golden.Kind != "musicgen" || !golden.Has("teacher.decoder_input_ids")) return;
        var model = new MusicgenForConditionalGeneration(backend, checkpoint);
        var config = model.Config.Decoder;
        int[] idShape = golden.Shape("teacher.decoder_input_ids"); // [N·K, T]
        int[] stateShape = golden.Shape("teacher.encoder_hidden_states"); // [N, S, d]
        int batch = stateShape[0], tokens = idShape[1], codebooks = config.NumCodebooks, vocabulary = config.VocabSize;
        var ids = golden.Int("teacher.decoder_input_ids").Select(v => checked((int)v)).ToArray();
        var mask = golden.Int("teacher.attention_mask").Select(v => (float)v).ToArray();

        using var states = backend.Upload(golden.Float("teacher.encoder_hidden_states"), stateShape);
        using var cache = model.StartDecoding(states, mask, tokens, (name, tensor) => produced.Add(name, tensor));
        using var logits = backend.Allocate(batch * tokens, codebooks * vocabulary);
        model.Decoder.Forward(cache, ids, tokens, logits, lastOnly: false, (name, tensor) => produced.Add("decoder.model.decoder." + name, tensor));

        var host = logits.ToArray(); // [N, T, K, V]
        float Logit(int n, int k, int t, int v) => host[((n * tokens + t) * codebooks + k) * vocabulary + v];
        double guidance = golden.Number("guidance_scale", 1.0);
        if (guidance > 1)
        {
            int half = batch / 2;
            var guided = new float[half * codebooks * tokens * vocabulary]; // [B·K, T, V]
            float g = (float)guidance;
            for (int n = 0; n < half; n++)
                for (int k = 0; k < codebooks; k++)
                    for (int t = 0; t < tokens; t++)
                        for (int v = 0; v < vocabulary; v++)
                        {
                            float conditional = Logit(n, k, t, v), unconditional = Logit(n + half, k, t, v);
                            guided[((n * codebooks + k) * tokens + t) * vocabulary + v] = unconditional + (conditional - unconditional) * g;
                        }
            produced.Add("teacher.guided_logits", [half * codebooks, tokens, vocabulary], guided);
        }
        else
        {
            var raw = new float[batch * codebooks * tokens * vocabulary];
            for (int n = 0; n < batch; n++)
                for (int k = 0; k < codebooks; k++)
                    for (int t = 0; t < tokens; t++)
                        for (int v = 0; v < vocabulary; v++)
                            raw[((n * codebooks + k) * tokens + t) * vocabulary + v] = Logit(n, k, t, v);
            produced.Add("teacher.logits", [batch * codebooks, tokens, vocabulary], raw);
        }
        var last = new float[batch * codebooks * vocabulary];
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < codebooks; k++)
                for (int v = 0; v < vocabulary; v++)
                    last[(n * codebooks + k) * vocabulary + v] = Logit(n, k, tokens - 1, v);
        if (golden.Has("teacher.logits.last")) produced.Add("teacher.logits.last", [batch * codebooks, vocabulary], last);
    }
}
