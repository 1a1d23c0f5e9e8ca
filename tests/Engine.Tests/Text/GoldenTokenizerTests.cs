using MusicGen.Engine.Text;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Tests.Text;

/// <summary>The reference tokenizer's ids recorded in the golden cases, each case with its own vocabulary.</summary>
public sealed class GoldenTokenizerTests(GoldenTokenizers tokenizers) : IClassFixture<GoldenTokenizers>
{
    public static TheoryData<string, int> TokenizerCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string caseName in GoldenTokenizers.CasesWithTokenizer())
        {
            using var json = GoldenTokenizers.CaseJson(caseName);
            if (!json.RootElement.TryGetProperty("tokenizer_cases", out var cases)) continue;
            for (int i = 0; i < cases.GetArrayLength(); i++) data.Add(caseName, i);
        }
        return data;
    }

    public static TheoryData<string> CasesWithTokenizer() => new(GoldenTokenizers.CasesWithTokenizer());

    [Fact]
    public void EveryTokenizerCaseIsFound()
    {
        // Guards the theories below against passing vacuously if the golden folder moved.
        Assert.True(TokenizerCases().Count() >= 40, $"only {TokenizerCases().Count()} golden tokenizer cases found");
    }

    [Theory]
    [MemberData(nameof(TokenizerCases))]
    public void SpieceModelGivesTheReferenceIds(string caseName, int index)
    {
        var (text, expected) = TokenizerCase(caseName, index);
        Assert.Equal(expected, tokenizers.FromSpiece(caseName).Encode(text));
    }

    [Theory]
    [MemberData(nameof(TokenizerCases))]
    public void TokenizerJsonGivesTheReferenceIds(string caseName, int index)
    {
        var (text, expected) = TokenizerCase(caseName, index);
        Assert.Equal(expected, tokenizers.FromTokenizerJson(caseName).Encode(text));
    }

    [Theory]
    [MemberData(nameof(CasesWithTokenizer))]
    public void PromptBatchMatchesRecordedInputIdsAndMask(string caseName)
    {
        string[] prompts;
        using (var json = GoldenTokenizers.CaseJson(caseName))
            prompts = json.RootElement.GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToArray();
        using var expected = SafetensorsFile.Open(Path.Combine(TestPaths.Golden(caseName), "expected.safetensors"));
        if (prompts.Length == 0)
        {
            Assert.False(expected.Contains("input_ids"), "a case without prompts should record no input_ids");
            return;
        }

        var batch = tokenizers.FromSpiece(caseName).EncodeBatch(prompts);

        Assert.Equal(expected.Entry("input_ids").Shape, new[] { batch.BatchSize, batch.Length });
        Assert.Equal(expected.ReadInt64("input_ids"), batch.InputIds);
        Assert.Equal(expected.ReadInt64("attention_mask"), batch.AttentionMask);
    }

    [Theory]
    [MemberData(nameof(CasesWithTokenizer))]
    public void SpecialIdsAndVocabSizeFollowT5(string caseName)
    {
        var tokenizer = tokenizers.FromSpiece(caseName);
        int pieces = SentencePieceModel.Load(GoldenTokenizers.SpieceModel(caseName)).Pieces.Count;
        Assert.Equal(pieces + 100, tokenizer.VocabSize);
        Assert.Equal((0, 1, 2), (tokenizer.PadId, tokenizer.EosId, tokenizer.UnkId));
        Assert.Equal([tokenizer.VocabSize - 1, tokenizer.EosId], tokenizer.Encode("<extra_id_0>"));
        Assert.Equal([tokenizer.VocabSize - 100, tokenizer.EosId], tokenizer.Encode("<extra_id_99>"));
    }

    private static (string Text, int[] Ids) TokenizerCase(string caseName, int index)
    {
        using var json = GoldenTokenizers.CaseJson(caseName);
        var entry = json.RootElement.GetProperty("tokenizer_cases")[index];
        return (entry.GetProperty("text").GetString()!, entry.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }
}
