using System.Text.Json;

namespace MusicGen.Verification;

/// <summary>
/// The text side: the tokenizer on every tokenizer case of case.json and on the prompts, then the T5 encoder
/// block by block, fed with the reference ids so that its accuracy is measured on its own.
/// </summary>
public sealed class TextCheck : IComponentCheck
{
    public string Component => "Tokenizer and T5 encoder";

    public bool Owns(GoldenCase golden, string tensorName) =>
        golden.Kind != "encodec" && (tensorName is "input_ids" or "attention_mask" || tensorName.StartsWith("text_encoder.", StringComparison.Ordinal));

    public void Run(CaseContext context, ProducedTensors produced)
    {
        var golden = context.Golden;
        if (golden.Kind == "encodec") return;
        var tokenizer = context.Tokenizer;
        if (golden.Settings.TryGetProperty("tokenizer_cases", out var cases))
        {
            int index = 0;
            foreach (var item in cases.EnumerateArray())
            {
                string text = item.GetProperty("text").GetString() ?? "";
                var expected = item.GetProperty("ids").EnumerateArray().Select(v => v.GetInt64()).ToArray();
                var actual = tokenizer.Encode(text).Select(v => (long)v).ToArray();
                var row = TensorComparison.CompareInt($"tokenizer_cases.{index++}", [expected.Length], expected, [actual.Length], actual);
                produced.AddRow(row.Passed ? row : row with { Note = $"{row.Note}: {JsonSerializer.Serialize(text)}" });
            }
        }

        var prompts = golden.StringList("prompts");
        if (prompts.Length > 0)
        {
            var batch = tokenizer.EncodeBatch(prompts);
            produced.Add("input_ids", [batch.BatchSize, batch.Length], batch.InputIds);
            produced.Add("attention_mask", [batch.BatchSize, batch.Length], batch.AttentionMask);
        }

        if (!golden.Has("input_ids") || !golden.Has("text_encoder.last_hidden_state")) return;
        int[] shape = golden.Shape("input_ids");
        var ids = golden.Int32("input_ids");
        var mask = golden.Int("attention_mask").Select(v => (float)v).ToArray();
        var model = context.Musicgen;
        model.Inspector = (name, tensor) => produced.Add(name, tensor);
        try
        {
            using var output = model.TextEncoder.Forward(ids, mask, shape[0], shape[1]);
            produced.Add("text_encoder.last_hidden_state", output);
        }
        finally
        {
            model.Inspector = null;
        }
    }
}
