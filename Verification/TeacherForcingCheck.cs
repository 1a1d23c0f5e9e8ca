using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Musicgen;

namespace MusicGen.Verification;

/// <summary>
/// The decoder in one teacher-forced pass over the reference's decoder inputs and encoder states: the
/// projection, every layer, the final norm, and the logits (guided for every position, raw for the last).
/// </summary>
public sealed class TeacherForcingCheck : IComponentCheck
{
    public string Component => "MusicGen decoder";

    public bool Owns(GoldenCase golden, string tensorName) =>
        golden.Kind is "musicgen" or "musicgen_melody" && tensorName != "teacher.conditioning"
        && (tensorName.StartsWith("teacher.", StringComparison.Ordinal) || tensorName.StartsWith("decoder.", StringComparison.Ordinal)
            || tensorName == "enc_to_dec_proj");

    public void Run(CaseContext context, ProducedTensors produced)
    {
        var (golden, backend) = (context.Golden, context.Backend);
        if (!Owns(golden, "teacher.decoder_input_ids") || !golden.Has("teacher.decoder_input_ids")) return;
        bool melody = golden.Kind == "musicgen_melody";
        var model = context.Musicgen;
        var config = model.Config.Decoder;
        int[] idShape = golden.Shape("teacher.decoder_input_ids"); // [N·K, T]
        int codebooks = config.NumCodebooks, vocabulary = config.VocabSize, tokens = idShape[1], batch = idShape[0] / codebooks;
        var ids = golden.Int32("teacher.decoder_input_ids");

        // The conditioning is the reference's own, so that the decoder is measured apart from the text side:
        // encoder states for cross-attention, or the melody model's prefix.
        model.Inspector = (name, tensor) => produced.Add(name, tensor);
        try
        {
            using var cache = melody ? PrefixCache(golden, backend, model.Decoder.Decoder, batch, tokens) : StartCrossAttention(golden, (MusicgenForConditionalGeneration)model, backend, tokens);
            int positions = (cache.Prefix?.Dim(1) ?? 0) + tokens;
            using var logits = backend.Allocate(batch * positions, codebooks * vocabulary);
            model.Decoder.Forward(cache, ids, tokens, logits, lastOnly: false);
            AddLogits(golden, logits.ToArray(), batch, positions, tokens, codebooks, vocabulary, produced);
        }
        finally
        {
            model.Inspector = null;
        }
    }

    private static DecoderCache StartCrossAttention(GoldenCase golden, MusicgenForConditionalGeneration model, IBackend backend, int tokens)
    {
        var mask = golden.Int("teacher.attention_mask").Select(v => (float)v).ToArray();
        using var states = backend.Upload(golden.Float("teacher.encoder_hidden_states"), golden.Shape("teacher.encoder_hidden_states"));
        return model.StartDecoding(states, mask, tokens);
    }

    /// <summary>A cache whose prefix is the melody model's conditioning as the reference computed it.</summary>
    private static DecoderCache PrefixCache(GoldenCase golden, IBackend backend, MusicgenDecoder decoder, int batch, int tokens)
    {
        var prefix = backend.Upload(golden.Float("teacher.conditioning"), golden.Shape("teacher.conditioning")); // [N, P, D], owned by the cache
        return new DecoderCache(backend, decoder, batch, prefix.Dim(1) + tokens, prefix: prefix);
    }

    /// <summary>The logits of the token positions (after any prefix): guided for every position, raw for the last.</summary>
    private static void AddLogits(GoldenCase golden, float[] host, int batch, int positions, int tokens, int codebooks, int vocabulary, ProducedTensors produced)
    {
        int offset = positions - tokens; // [N, P + T, K, V]
        float Logit(int n, int k, int t, int v) => host[((n * positions + offset + t) * codebooks + k) * vocabulary + v];
        double guidance = golden.Number("guidance_scale", 1.0);
        if (guidance > 1 && golden.Has("teacher.guided_logits"))
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
        else if (golden.Has("teacher.logits"))
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
