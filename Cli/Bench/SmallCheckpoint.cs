using System.Text.Json.Nodes;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Cli.Bench;

/// <summary>
/// Writes a random-weight checkpoint with the exact sizes of facebook/musicgen-small (T5-base text encoder,
/// 24 decoder layers of width 1024 with 16 heads and FFN 4096, 4 × 2048 codebooks, EnCodec 32 kHz with 64
/// filters), in the Hub layout, for benchmarks. The values are random; only the sizes matter.
/// </summary>
public static class SmallCheckpoint
{
    private const int TextWidth = 768, TextLayers = 12, TextHeads = 12, TextFf = 3072, TextVocabulary = 32128;
    private const int Width = 1024, Layers = 24, Heads = 16, Ffn = 4096, Codebooks = 4, Vocabulary = 2048, Positions = 2048;
    private const int Filters = 64, CodecHidden = 128;
    private static readonly int[] Ratios = [8, 5, 4, 4];

    public static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), Config().ToJsonString());
        File.WriteAllText(Path.Combine(folder, "generation_config.json"),
            "{\"decoder_start_token_id\": 2048, \"pad_token_id\": 2048, \"do_sample\": true, \"guidance_scale\": 3.0, \"top_k\": 250, \"max_length\": 1500}");
        var random = new Random(1234);
        var writer = new SafetensorsWriter().AddMetadata("format", "pt");
        void Add(string name, params int[] shape)
        {
            int fanIn = shape.Length > 1 ? shape.Skip(1).Aggregate(1, (a, b) => a * b) : shape[0];
            float scale = 1f / MathF.Sqrt(fanIn);
            var values = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
            writer.Add(name, shape, values);
        }
        void Ones(string name, int length) => writer.Add(name, [length], Enumerable.Repeat(1f, length).ToArray());

        Add("text_encoder.shared.weight", TextVocabulary, TextWidth);
        for (int i = 0; i < TextLayers; i++)
        {
            string block = $"text_encoder.encoder.block.{i}.";
            foreach (string p in new[] { "q", "k", "v", "o" }) Add($"{block}layer.0.SelfAttention.{p}.weight", TextWidth, TextWidth);
            if (i == 0) Add($"{block}layer.0.SelfAttention.relative_attention_bias.weight", 32, TextHeads);
            Ones($"{block}layer.0.layer_norm.weight", TextWidth);
            Add($"{block}layer.1.DenseReluDense.wi.weight", TextFf, TextWidth);
            Add($"{block}layer.1.DenseReluDense.wo.weight", TextWidth, TextFf);
            Ones($"{block}layer.1.layer_norm.weight", TextWidth);
        }
        Ones("text_encoder.encoder.final_layer_norm.weight", TextWidth);
        Add("enc_to_dec_proj.weight", Width, TextWidth);
        Add("enc_to_dec_proj.bias", Width);

        for (int k = 0; k < Codebooks; k++)
        {
            Add($"decoder.model.decoder.embed_tokens.{k}.weight", Vocabulary + 1, Width);
            Add($"decoder.lm_heads.{k}.weight", Vocabulary, Width);
        }
        for (int i = 0; i < Layers; i++)
        {
            string layer = $"decoder.model.decoder.layers.{i}.";
            foreach (string attention in new[] { "self_attn", "encoder_attn" })
            {
                foreach (string p in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) Add($"{layer}{attention}.{p}.weight", Width, Width);
                Ones($"{layer}{attention}_layer_norm.weight", Width);
                writer.Add($"{layer}{attention}_layer_norm.bias", [Width], new float[Width]);
            }
            Add($"{layer}fc1.weight", Ffn, Width);
            Add($"{layer}fc2.weight", Width, Ffn);
            Ones($"{layer}final_layer_norm.weight", Width);
            writer.Add($"{layer}final_layer_norm.bias", [Width], new float[Width]);
        }
        Ones("decoder.model.decoder.layer_norm.weight", Width);
        writer.Add("decoder.model.decoder.layer_norm.bias", [Width], new float[Width]);

        AddCodec(Add);
        writer.Save(Path.Combine(folder, "model.safetensors"));
    }

    /// <summary>The EnCodec 32 kHz tensors, named as in the Hub checkpoint (weight norm stored as g and v).</summary>
    private static void AddCodec(Action<string, int[]> add)
    {
        void Conv(string module, int output, int input, int kernel)
        {
            add($"{module}.conv.weight_g", [output, 1, 1]);
            add($"{module}.conv.weight_v", [output, input, kernel]);
            add($"{module}.conv.bias", [output]);
        }
        void ConvTranspose(string module, int input, int output, int kernel)
        {
            add($"{module}.conv.weight_g", [input, 1, 1]);
            add($"{module}.conv.weight_v", [input, output, kernel]);
            add($"{module}.conv.bias", [output]);
        }
        void Lstm(string module, int dimension)
        {
            for (int l = 0; l < 2; l++)
            {
                add($"{module}.lstm.weight_ih_l{l}", [4 * dimension, dimension]);
                add($"{module}.lstm.weight_hh_l{l}", [4 * dimension, dimension]);
                add($"{module}.lstm.bias_ih_l{l}", [4 * dimension]);
                add($"{module}.lstm.bias_hh_l{l}", [4 * dimension]);
            }
        }
        void Residual(string module, int dimension)
        {
            Conv($"{module}.block.1", dimension / 2, dimension, 3);
            Conv($"{module}.block.3", dimension, dimension / 2, 1);
        }

        int layer = 0, scaling = 1;
        Conv($"audio_encoder.encoder.layers.{layer++}", Filters, 1, 7);
        foreach (int ratio in Ratios.Reverse())
        {
            Residual($"audio_encoder.encoder.layers.{layer++}", scaling * Filters);
            layer++; // ELU
            Conv($"audio_encoder.encoder.layers.{layer++}", scaling * Filters * 2, scaling * Filters, ratio * 2);
            scaling *= 2;
        }
        Lstm($"audio_encoder.encoder.layers.{layer++}", scaling * Filters);
        layer++; // ELU
        Conv($"audio_encoder.encoder.layers.{layer}", CodecHidden, scaling * Filters, 7);

        layer = 0;
        Conv($"audio_encoder.decoder.layers.{layer++}", scaling * Filters, CodecHidden, 7);
        Lstm($"audio_encoder.decoder.layers.{layer++}", scaling * Filters);
        foreach (int ratio in Ratios)
        {
            layer++; // ELU
            ConvTranspose($"audio_encoder.decoder.layers.{layer++}", scaling * Filters, scaling * Filters / 2, ratio * 2);
            Residual($"audio_encoder.decoder.layers.{layer++}", scaling * Filters / 2);
            scaling /= 2;
        }
        layer++; // ELU
        Conv($"audio_encoder.decoder.layers.{layer}", 1, Filters, 7);
        for (int q = 0; q < Codebooks; q++) add($"audio_encoder.quantizer.layers.{q}.codebook.embed", [Vocabulary, CodecHidden]);
    }

    private static JsonObject Config() => new()
    {
        ["model_type"] = "musicgen",
        ["architectures"] = new JsonArray("MusicgenForConditionalGeneration"),
        ["text_encoder"] = new JsonObject
        {
            ["model_type"] = "t5", ["vocab_size"] = TextVocabulary, ["d_model"] = TextWidth, ["d_kv"] = 64, ["d_ff"] = TextFf,
            ["num_layers"] = TextLayers, ["num_heads"] = TextHeads, ["feed_forward_proj"] = "relu",
        },
        ["audio_encoder"] = new JsonObject
        {
            ["model_type"] = "encodec", ["sampling_rate"] = 32000, ["audio_channels"] = 1, ["num_filters"] = Filters, ["hidden_size"] = CodecHidden,
            ["upsampling_ratios"] = new JsonArray(Ratios.Select(r => (JsonNode)r).ToArray()), ["codebook_size"] = Vocabulary,
            ["codebook_dim"] = CodecHidden, ["target_bandwidths"] = new JsonArray(2.2), ["use_causal_conv"] = false,
            ["use_conv_shortcut"] = false, ["normalize"] = false, ["norm_type"] = "weight_norm", ["pad_mode"] = "reflect",
        },
        ["decoder"] = new JsonObject
        {
            ["model_type"] = "musicgen_decoder", ["vocab_size"] = Vocabulary, ["hidden_size"] = Width, ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads, ["ffn_dim"] = Ffn, ["num_codebooks"] = Codebooks, ["max_position_embeddings"] = Positions,
            ["pad_token_id"] = 2048, ["bos_token_id"] = 2048, ["activation_function"] = "gelu", ["audio_channels"] = 1,
        },
    };

    public static bool IsPresent(string folder) =>
        File.Exists(Path.Combine(folder, "config.json")) && File.Exists(Path.Combine(folder, "model.safetensors"));
}
