using MusicGen.Engine.Text;

namespace MusicGen.Tests.Text;

/// <summary>
/// Texts that stress normalization, segmentation and added-token splitting, with the ids transformers 4.43.4's
/// T5Tokenizer (sentencepiece 0.1.97) gives for them.
/// </summary>
public sealed class TokenizerEdgeCaseTests(GoldenTokenizers tokenizers) : IClassFixture<GoldenTokenizers>
{
    [Theory]
    [InlineData("cafe\u0301 nai\u0308ve (combining accents)", new[] { 59, 20, 110, 100, 14, 103, 24, 3, 178, 145, 129, 33, 89, 18, 39, 39, 17, 134, 37, 179, 1 })]
    [InlineData("a\u00A0b\u00A0\u00A0c\u202Fd", new[] { 18, 45, 128, 3, 4, 1 })]
    [InlineData("zero\u200Bwidth\u200Cnon\u200Djoiner\uFEFFbom\u00ADsoft", new[] { 3, 90, 17, 46, 3, 6, 4, 5, 3, 126, 26, 2, 124, 16, 33, 65, 45, 16, 19, 2, 37, 16, 20, 23, 1 })]
    [InlineData("ssssssssssssssssssssssss", new[] { 3, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 1 })]
    [InlineData("abababababababababababababababababababababababababababababab", new[] { 18, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 14, 75, 1 })]
    [InlineData("x                                                  y", new[] { 3, 79, 3, 13, 1 })]
    [InlineData("\u0395\u03BB\u03BB\u03B7\u03BD\u03B9\u03BA\u03AC \u0440\u0443\u0441\u0441\u043A\u0438\u0439 \u65E5\u672C\u8A9E \uD55C\uAD6D\uC5B4 \u0627\u0644\u0639\u0631\u0628\u064A\u0629 \u0939\u093F\u0928\u094D\u0926\u0940", new[] { 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 1 })]
    [InlineData("     ", new[] { 1 })]
    [InlineData("\u0009\u000A \u3000\u2003", new[] { 1 })]
    [InlineData("<extra_id_5>glued<extra_id_5>to<extra_id_5>words<extra_id_5>", new[] { 294, 70, 123, 17, 4, 294, 3, 23, 16, 294, 3, 61, 34, 4, 37, 294, 1 })]
    [InlineData("  spaced  <extra_id_5>  around  <extra_id_0>  ", new[] { 84, 15, 14, 39, 17, 4, 294, 18, 46, 146, 4, 299, 1 })]
    [InlineData("tab\u0009<extra_id_5>\u3000ideographic \u001Cinfo separator", new[] { 3, 23, 14, 75, 294, 3, 22, 76, 16, 104, 49, 14, 15, 147, 12, 3, 33, 20, 16, 84, 17, 15, 38, 92, 34, 1 })]
    [InlineData("x<pad>y</s>z<unk>w", new[] { 3, 79, 0, 3, 13, 1, 3, 90, 2, 3, 61, 1 })]
    [InlineData("ends with eos </s>", new[] { 118, 4, 37, 3, 6, 5, 81, 16, 37, 1 })]
    [InlineData("<extra_id_100> <extra_id_> <extra_id_5 <<pad>> </s", new[] { 3, 184, 17, 79, 151, 2, 22, 4, 2, 199, 62, 62, 185, 3, 184, 17, 79, 151, 2, 22, 4, 2, 185, 3, 184, 17, 79, 151, 2, 22, 4, 2, 181, 3, 184, 0, 3, 185, 3, 184, 109, 37, 1 })]
    [InlineData("\uFF2D\uFF55\uFF53\uFF49\uFF43 \uFB01\uFB02 \u338F \u2103 \u216B \u00BD \u2460", new[] { 3, 2, 87, 37, 12, 78, 22, 20, 107, 3, 28, 104, 3, 2, 108, 3, 2, 165, 195, 172, 165, 1 })]
    [InlineData("\u2581literal\u2581\u2581underscores\u2581", new[] { 112, 23, 65, 113, 3, 146, 4, 65, 37, 39, 34, 105, 1 })]
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467 \U0001F44D\U0001F3FD \u2764\uFE0F", new[] { 3, 2, 3, 2, 3, 2, 1 })]
    [InlineData("\u0000nul\u0001ctrl\u007Fdel\u0085nel", new[] { 3, 2, 26, 87, 107, 39, 47, 107, 4, 77, 2, 26, 77, 1 })]
    [InlineData("\u1100\u1161\u11A8 \u304B\u3099 \uFF76\uFF9E", new[] { 3, 2, 3, 2, 3, 2, 1 })]
    public void HardTextsMatchTheReference(string text, int[] expected)
    {
        Assert.Equal(expected, tokenizers.FromSpiece("musicgen-mono").Encode(text));
        Assert.Equal(expected, tokenizers.FromTokenizerJson("musicgen-mono").Encode(text));
    }

    /// <summary>
    /// "ss"+"s" and "s"+"ss" score the same once rounded to float; sentencepiece compares the unrounded double
    /// sum with the stored float, which picks "ss"+"s" here for these two vocabularies (and "s"+"ss" for mono).
    /// </summary>
    [Theory]
    [InlineData("musicgen-stereo", "</sss", new[] { 3, 178, 94, 96, 32, 1 })]
    [InlineData("musicgen-prompt", "</sss", new[] { 3, 185, 100, 91, 31, 1 })]
    [InlineData("musicgen-prompt", "x</sss", new[] { 3, 65, 185, 100, 91, 31, 1 })]
    [InlineData("musicgen-mono", "x</sss", new[] { 3, 79, 184, 109, 37, 94, 1 })]
    public void EqualScoresAreBrokenAsSentencePieceDoes(string caseName, string text, int[] expected)
    {
        Assert.Equal(expected, tokenizers.FromSpiece(caseName).Encode(text));
    }

    /// <summary>
    /// The mono model with five pieces appended (ids 200..204): user-defined "bpm" and "4/4" (kept whole and always
    /// preferred), control "&lt;ctrl&gt;" (never matched), unused "▁pop" (never produced) and normal "▁rock".
    /// </summary>
    [Theory]
    [InlineData("120bpm 4/4 pop rock", new[] { 3, 101, 62, 200, 3, 201, 3, 15, 41, 204, 1 })]
    [InlineData("bpmbpm4/44/4", new[] { 3, 200, 200, 201, 201, 1 })]
    [InlineData("<ctrl> pop", new[] { 3, 184, 39, 47, 107, 185, 3, 15, 41, 1 })]
    [InlineData("b p m", new[] { 45, 3, 15, 119, 1 })]
    [InlineData("ROCK rock rocks", new[] { 3, 2, 108, 2, 204, 204, 37, 1 })]
    public void PieceTypesAreHonoured(string text, int[] expected)
    {
        using var temp = new TempFolder();
        string path = temp.File("spiece.model");
        File.WriteAllBytes(path, ModelProtoBytes.WithPieces(File.ReadAllBytes(GoldenTokenizers.SpieceModel("musicgen-mono")),
            ("bpm", 0f, PieceType.UserDefined), ("4/4", 0f, PieceType.UserDefined), ("<ctrl>", 0f, PieceType.Control),
            ("\u2581pop", -1f, PieceType.Unused), ("\u2581rock", -1f, PieceType.Normal)));

        var tokenizer = T5Tokenizer.FromSentencePieceModel(path);

        Assert.Equal(305, tokenizer.VocabSize);
        Assert.Equal(expected, tokenizer.Encode(text));
    }

    /// <summary>
    /// tokenizer.json records user-defined pieces as plain added tokens and control pieces as special ones, so they
    /// survive the trip (unused pieces do not: the format has no way to mark them).
    /// </summary>
    [Fact]
    public void TokenizerJsonKeepsUserDefinedAndControlPieces()
    {
        using var temp = new TempFolder();
        string spiecePath = temp.File("spiece.model");
        File.WriteAllBytes(spiecePath, ModelProtoBytes.WithPieces(File.ReadAllBytes(GoldenTokenizers.SpieceModel("musicgen-mono")),
            ("bpm", 0f, PieceType.UserDefined), ("4/4", 0f, PieceType.UserDefined), ("<ctrl>", 0f, PieceType.Control)));
        string jsonPath = temp.File("tokenizer.json");
        TokenizerJsonFixture.Write(SentencePieceModel.Load(spiecePath), jsonPath);
        var fromSpiece = T5Tokenizer.FromSentencePieceModel(spiecePath);
        var fromJson = T5Tokenizer.FromTokenizerJson(jsonPath);

        Assert.Equal([3, 200, 200, 201, 201, 1], fromJson.Encode("bpmbpm4/44/4"));
        Assert.Equal([3, 184, 39, 47, 107, 185, 3, 15, 41, 1], fromJson.Encode("<ctrl> pop"));
        foreach (string text in new[] { "120bpm 4/4 pop rock", "b p m", "<ctrl>bpm" })
            Assert.Equal(fromSpiece.Encode(text), fromJson.Encode(text));
    }

    /// <summary>
    /// The mono model with one normalizer setting changed (T5 itself uses none of these variants): without a
    /// charsmap, without the dummy prefix, keeping extra spaces, and with spaces left unescaped.
    /// </summary>
    [Theory]
    [InlineData("no charsmap", "  a  b  ", new[] { 18, 45, 1 })]
    [InlineData("no charsmap", "<extra_id_5>\u001Cabc", new[] { 294, 18, 75, 39, 1 })]
    [InlineData("no charsmap", "x\u00A0y \uFF46\uFB01", new[] { 3, 79, 2, 13, 3, 2, 1 })]
    [InlineData("no charsmap", " \u2581x\u2581 ", new[] { 3, 3, 79, 1 })]
    [InlineData("no dummy prefix", "  a  b  ", new[] { 14, 45, 1 })]
    [InlineData("no dummy prefix", "x\u00A0y \uFF46\uFB01", new[] { 79, 3, 13, 78, 20, 22, 1 })]
    [InlineData("no dummy prefix", " \u2581x\u2581 ", new[] { 79, 1 })]
    [InlineData("keep extra spaces", "  a  b  ", new[] { 3, 3, 18, 3, 45, 3, 3, 1 })]
    [InlineData("keep extra spaces", " \u2581x\u2581 ", new[] { 3, 3, 3, 79, 3, 3, 1 })]
    [InlineData("unescaped spaces", "  a  b  ", new[] { 2, 14, 2, 75, 1 })]
    [InlineData("unescaped spaces", "hello world", new[] { 2, 147, 77, 91, 2, 61, 34, 107, 4, 1 })]
    [InlineData("unescaped spaces", " \u2581x\u2581 ", new[] { 2, 79, 1 })]
    public void NormalizerSettingsAreHonoured(string variant, string text, int[] expected)
    {
        byte[] mono = File.ReadAllBytes(GoldenTokenizers.SpieceModel("musicgen-mono"));
        byte[] model = variant switch
        {
            "no charsmap" => ModelProtoBytes.WithCharsmap(mono, []),
            "no dummy prefix" => ModelProtoBytes.WithNormalizerFlag(mono, 3, false),
            "keep extra spaces" => ModelProtoBytes.WithNormalizerFlag(mono, 4, false),
            "unescaped spaces" => ModelProtoBytes.WithNormalizerFlag(mono, 5, false),
            _ => throw new ArgumentOutOfRangeException(nameof(variant)),
        };
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.File("spiece.model"), model);

        Assert.Equal(expected, T5Tokenizer.FromSentencePieceModel(temp.File("spiece.model")).Encode(text));
    }

    [Fact]
    public void OlderTokenizerJsonLayoutReadsTheSame()
    {
        using var temp = new TempFolder();
        string path = temp.File("tokenizer.json");
        TokenizerJsonFixture.Write(SentencePieceModel.Load(GoldenTokenizers.SpieceModel("musicgen-mono")), path, TokenizerJsonFixture.Layout.Legacy);
        var fromJson = T5Tokenizer.FromTokenizerJson(path);
        var fromSpiece = tokenizers.FromSpiece("musicgen-mono");

        foreach (string text in new[] { "80s pop track with bassy drums and synth", "  ｆｕｌｌ ﬁ ½ <extra_id_3> x ", "" })
            Assert.Equal(fromSpiece.Encode(text), fromJson.Encode(text));
        Assert.Equal((fromSpiece.VocabSize, fromSpiece.PadId, fromSpiece.EosId, fromSpiece.UnkId),
            (fromJson.VocabSize, fromJson.PadId, fromJson.EosId, fromJson.UnkId));
    }

    [Fact]
    public void SpieceModelIsPreferredOverTokenizerJson()
    {
        using var temp = new TempFolder();
        File.Copy(GoldenTokenizers.SpieceModel("musicgen-mono"), temp.File("spiece.model"));
        File.WriteAllText(temp.File("tokenizer.json"), "not json at all");

        Assert.Equal(tokenizers.FromSpiece("musicgen-mono").Encode("techno"), T5Tokenizer.FromFolder(temp.Path).Encode("techno"));
    }
}
