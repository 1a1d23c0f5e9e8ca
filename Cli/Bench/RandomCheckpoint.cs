using System.Text.Json.Nodes;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Cli.Bench;

/// <summary>The sizes of one MusicGen checkpoint on the Hub (all use T5-base and EnCodec 32 kHz).</summary>
public sealed record ModelSize(string Name, int Width, int Layers, int Heads, int Ffn, bool Float16OnDisk)
{
    public static IReadOnlyList<ModelSize> All { get; } =
    [
        new("small", 1024, 24, 16, 4096, Float16OnDisk: false),
        new("medium", 1536, 48, 24, 6144, Float16OnDisk: true),
        new("large", 2048, 48, 32, 8192, Float16OnDisk: true),
    ];

    public static ModelSize Parse(string name) => All.FirstOrDefault(s => s.Name == name)
        ?? throw new MusicGenException($"unknown model size '{name}'; expected one of {string.Join(", ", All.Select(s => s.Name))}");
}

/// <summary>
/// Writes a random-weight checkpoint with the exact sizes of facebook/musicgen-small, -medium or -large (T5-base
/// text encoder, the decoder of that size with 4 × 2048 codebooks, EnCodec 32 kHz with 64 filters), in the Hub
/// layout, for benchmarks: float32 in one file for small, float16 in shards of about 2 GB (as the Hub stores the
/// larger ones) for medium and large, so the writer never holds more than a shard. Only the sizes matter; a
/// tokenizer of single letters lets <c>generate</c> run on it.
/// </summary>
public static class RandomCheckpoint
{
    private const int TextWidth = 768, TextLayers = 12, TextHeads = 12, TextFf = 3072, TextVocabulary = 32128;
    private const int Codebooks = 4, Vocabulary = 2048, Positions = 2048;
    private const int Filters = 64, CodecHidden = 128;
    private const long ShardBytes = 2L << 30;
    private static readonly int[] Ratios = [8, 5, 4, 4];

    public static void Write(string folder, ModelSize size)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), Config(size).ToJsonString());
        File.WriteAllText(Path.Combine(folder, "generation_config.json"),
            "{\"decoder_start_token_id\": 2048, \"pad_token_id\": 2048, \"do_sample\": true, \"guidance_scale\": 3.0, \"top_k\": 250, \"max_length\": 1500}");
        File.WriteAllText(Path.Combine(folder, TokenizerFile), Tokenizer().ToJsonString());
        var random = new Random(1234);
        var shards = new List<(string File, List<string> Names)>();
        var names = new List<string>();
        SafetensorsWriter? writer = null;
        long written = 0;
        void Flush()
        {
            if (writer is null) return;
            string file = size.Float16OnDisk ? $"model-{shards.Count + 1:00000}.safetensors" : WeightStore.SingleFileName;
            writer.Save(Path.Combine(folder, file));
            shards.Add((file, names.ToList()));
            names.Clear();
            writer = null;
            written = 0;
        }
        void Put(string name, int[] shape, float[] values)
        {
            if (size.Float16OnDisk && written + values.Length * 2L > ShardBytes) Flush();
            writer ??= new SafetensorsWriter().AddMetadata("format", "pt");
            if (size.Float16OnDisk) writer.AddFloat16(name, shape, values);
            else writer.Add(name, shape, values);
            written += values.Length * (size.Float16OnDisk ? 2L : 4L);
            names.Add(name);
        }
        void Add(string name, params int[] shape)
        {
            int fanIn = shape.Length > 1 ? shape.Skip(1).Aggregate(1, (a, b) => a * b) : shape[0];
            float scale = 1f / MathF.Sqrt(fanIn);
            var values = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
            Put(name, shape, values);
        }
        void Constant(string name, int length, float value) => Put(name, [length], Enumerable.Repeat(value, length).ToArray());
        int width = size.Width;

        Add("text_encoder.shared.weight", TextVocabulary, TextWidth);
        for (int i = 0; i < TextLayers; i++)
        {
            string block = $"text_encoder.encoder.block.{i}.";
            foreach (string p in new[] { "q", "k", "v", "o" }) Add($"{block}layer.0.SelfAttention.{p}.weight", TextWidth, TextWidth);
            if (i == 0) Add($"{block}layer.0.SelfAttention.relative_attention_bias.weight", 32, TextHeads);
            Constant($"{block}layer.0.layer_norm.weight", TextWidth, 1);
            Add($"{block}layer.1.DenseReluDense.wi.weight", TextFf, TextWidth);
            Add($"{block}layer.1.DenseReluDense.wo.weight", TextWidth, TextFf);
            Constant($"{block}layer.1.layer_norm.weight", TextWidth, 1);
        }
        Constant("text_encoder.encoder.final_layer_norm.weight", TextWidth, 1);
        Add("enc_to_dec_proj.weight", width, TextWidth);
        Add("enc_to_dec_proj.bias", width);

        for (int k = 0; k < Codebooks; k++)
        {
            Add($"decoder.model.decoder.embed_tokens.{k}.weight", Vocabulary + 1, width);
            Add($"decoder.lm_heads.{k}.weight", Vocabulary, width);
        }
        for (int i = 0; i < size.Layers; i++)
        {
            string layer = $"decoder.model.decoder.layers.{i}.";
            foreach (string attention in new[] { "self_attn", "encoder_attn" })
            {
                foreach (string p in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) Add($"{layer}{attention}.{p}.weight", width, width);
                Constant($"{layer}{attention}_layer_norm.weight", width, 1);
                Constant($"{layer}{attention}_layer_norm.bias", width, 0);
            }
            Add($"{layer}fc1.weight", size.Ffn, width);
            Add($"{layer}fc2.weight", width, size.Ffn);
            Constant($"{layer}final_layer_norm.weight", width, 1);
            Constant($"{layer}final_layer_norm.bias", width, 0);
        }
        Constant("decoder.model.decoder.layer_norm.weight", width, 1);
        Constant("decoder.model.decoder.layer_norm.bias", width, 0);

        AddCodec(Add);
        Flush();
        if (size.Float16OnDisk) WriteIndex(folder, shards);
    }

    private static void WriteIndex(string folder, List<(string File, List<string> Names)> shards)
    {
        var map = new JsonObject();
        foreach (var (file, names) in shards)
            foreach (string name in names) map[name] = file;
        File.WriteAllText(Path.Combine(folder, WeightStore.IndexFileName), new JsonObject { ["weight_map"] = map }.ToJsonString());
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

    private static JsonObject Config(ModelSize size) => new()
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
            ["model_type"] = "musicgen_decoder", ["vocab_size"] = Vocabulary, ["hidden_size"] = size.Width, ["num_hidden_layers"] = size.Layers,
            ["num_attention_heads"] = size.Heads, ["ffn_dim"] = size.Ffn, ["num_codebooks"] = Codebooks, ["max_position_embeddings"] = Positions,
            ["pad_token_id"] = 2048, ["bos_token_id"] = 2048, ["activation_function"] = "gelu", ["audio_channels"] = 1,
        },
    };

    public static bool IsPresent(string folder) =>
        File.Exists(Path.Combine(folder, "config.json")) && File.Exists(Path.Combine(folder, TokenizerFile)) && WeightStore.IsPresentIn(folder);

    private const string TokenizerFile = "tokenizer.json";

    /// <summary>A T5 Unigram tokenizer.json whose pieces are T5's three reserved ones, then each letter and digit, alone and after a space.</summary>
    private static JsonObject Tokenizer()
    {
        var vocabulary = new JsonArray(new JsonArray("<pad>", 0.0), new JsonArray("</s>", 0.0), new JsonArray("<unk>", 0.0), new JsonArray("\u2581", -2.0));
        foreach (char c in "abcdefghijklmnopqrstuvwxyz0123456789")
        {
            vocabulary.Add(new JsonArray($"\u2581{c}", -2.5));
            vocabulary.Add(new JsonArray($"{c}", -3.0));
        }
        var reserved = new JsonArray(Enumerable.Range(0, 3).Select(id => (JsonNode)new JsonObject { ["id"] = id, ["special"] = true }).ToArray());
        return new JsonObject { ["added_tokens"] = reserved, ["model"] = new JsonObject { ["type"] = "Unigram", ["unk_id"] = 2, ["vocab"] = vocabulary } };
    }
}
