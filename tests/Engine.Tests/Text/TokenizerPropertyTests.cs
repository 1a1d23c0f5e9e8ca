using FsCheck;
using FsCheck.Fluent;
using MusicGen.Engine.Text;
using MusicGen.Loaders;

namespace MusicGen.Tests.Text;

/// <summary>Properties that hold for any text, including text no reference case covers.</summary>
public sealed class TokenizerPropertyTests(GoldenTokenizers tokenizers) : IClassFixture<GoldenTokenizers>
{
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(300);

    // Pieces of text that exercise every stage: added tokens (whole, broken, glued), whitespace that Python and
    // sentencepiece see differently, charsmap rules, unknown characters, surrogate pairs and lone surrogates.
    private static readonly string[] Fragments =
    [
        "<pad>", "</s>", "<unk>", "<extra_id_0>", "<extra_id_7>", "<extra_id_99>", "<extra_id_100>", "<extra_id_", "</s", "<", ">",
        " ", "  ", "\t", "\n", "\u00A0", "\u3000", "\u200B", "\u0085", "\u001C", "\u2581", "\uFEFF",
        "e\u0301", "\uFB01", "\u00BD", "\uFF46\uFF55\uFF4C\uFF4C", "\u2460", "\u338F", "caf\u00E9",
        "\U0001F3B8", "\U0001F468\u200D\U0001F469", "\u6F22\u5B57", "\uD800", "\uDC00", "\0",
        "drums", "synth", "bpm", "120", "sss", "a", "-", ".",
    ];

    private static readonly Arbitrary<string> Texts = Gen.OneOf(
            Gen.ListOf(Gen.Elements(Fragments)).Select(parts => string.Concat(parts)),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null))
        .ToArbitrary();

    [Fact]
    public void AnyTextGivesValidIdsEndingWithEos()
    {
        var tokenizer = tokenizers.FromSpiece("musicgen-mono");
        Check.One(Runs, Prop.ForAll(Texts, text =>
        {
            int[] ids = tokenizer.Encode(text);
            return ids.Length > 0 && ids[^1] == tokenizer.EosId && ids.All(id => id >= 0 && id < tokenizer.VocabSize);
        }));
    }

    [Fact]
    public void BatchIsEachTextPaddedToTheLongest()
    {
        var tokenizer = tokenizers.FromSpiece("musicgen-stereo");
        var batches = Gen.ListOf(Texts.Generator, 5).Select(list => list.ToArray()).ToArbitrary();
        Check.One(Runs, Prop.ForAll(batches, texts =>
        {
            var batch = tokenizer.EncodeBatch(texts);
            var rows = texts.Select(tokenizer.Encode).ToArray();
            int length = rows.Max(r => r.Length);
            if (batch.BatchSize != texts.Length || batch.Length != length) return false;
            for (int b = 0; b < rows.Length; b++)
            {
                for (int t = 0; t < length; t++)
                {
                    bool real = t < rows[b].Length;
                    if (batch.InputIds[b * length + t] != (real ? rows[b][t] : tokenizer.PadId)) return false;
                    if (batch.AttentionMask[b * length + t] != (real ? 1 : 0)) return false;
                }
            }
            return true;
        }));
    }

    [Fact]
    public void EmptyBatchIsEmpty()
    {
        var batch = tokenizers.FromSpiece("musicgen-mono").EncodeBatch([]);
        Assert.Equal((0, 0, 0, 0), (batch.BatchSize, batch.Length, batch.InputIds.Length, batch.AttentionMask.Length));
    }

    [Fact]
    public void TokenizerJsonAgreesWithSpieceModelOnAnyText()
    {
        var fromSpiece = tokenizers.FromSpiece("musicgen-prompt");
        var fromJson = tokenizers.FromTokenizerJson("musicgen-prompt");
        Check.One(Runs, Prop.ForAll(Texts, text => fromSpiece.Encode(text).SequenceEqual(fromJson.Encode(text))));
    }

    /// <summary>A charsmap whose trie is random words cannot make encoding fail or go out of bounds.</summary>
    [Fact]
    public void CorruptCharsmapNeverBreaksEncoding()
    {
        byte[] mono = File.ReadAllBytes(GoldenTokenizers.SpieceModel("musicgen-mono"));
        var charsmaps = Gen.Choose(1, 64).SelectMany(units => Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), units * 4 + 16)
            .Select(blob =>
            {
                BitConverter.TryWriteBytes(blob.AsSpan(0, 4), units * 4);
                return blob;
            })).ToArbitrary();
        using var temp = new TempFolder();
        string path = temp.File("spiece.model");
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(charsmaps, charsmap =>
        {
            File.WriteAllBytes(path, ModelProtoBytes.WithCharsmap(mono, charsmap));
            var tokenizer = T5Tokenizer.FromSentencePieceModel(path);
            return Fragments.All(f => tokenizer.Encode(f + " x " + f)[^1] == tokenizer.EosId);
        }));
    }

    /// <summary>Whatever bytes a spiece.model holds, loading it either works or fails with a MusicGenException.</summary>
    [Fact]
    public void AnyModelBytesLoadOrFailCleanly()
    {
        byte[] mono = File.ReadAllBytes(GoldenTokenizers.SpieceModel("musicgen-mono"));
        var models = Gen.OneOf(
            ArbMap.Default.GeneratorFor<byte[]>().Where(b => b is not null),
            Gen.Choose(0, mono.Length).Select(n => mono[..n]),
            Gen.Zip(Gen.Choose(0, mono.Length - 1), ArbMap.Default.GeneratorFor<byte>())
                .Select(change => { var copy = (byte[])mono.Clone(); copy[change.Item1] ^= (byte)(change.Item2 | 1); return copy; }))
            .ToArbitrary();
        using var temp = new TempFolder();
        string path = temp.File("spiece.model");
        File.WriteAllBytes(path, mono);
        var intact = T5Tokenizer.FromSentencePieceModel(path); // the cases below start from the intact model, which must load
        Assert.Equal(intact.EosId, intact.Encode("drums")[^1]);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll(models, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                var tokenizer = T5Tokenizer.FromSentencePieceModel(path);
                return tokenizer.Encode("drums <extra_id_1> ｆｕｌｌ ½")[^1] == tokenizer.EosId;
            }
            catch (MusicGenException e)
            {
                return e.Message.StartsWith(path, StringComparison.Ordinal);
            }
        }));
    }
}
