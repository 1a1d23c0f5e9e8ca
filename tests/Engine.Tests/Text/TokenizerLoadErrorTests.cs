using System.Text;
using MusicGen.Engine.Text;
using MusicGen.Loaders;

namespace MusicGen.Tests.Text;

/// <summary>Unusable tokenizer files end in a <see cref="MusicGenException"/> that names the file.</summary>
public sealed class TokenizerLoadErrorTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private static readonly byte[] MonoModel = File.ReadAllBytes(GoldenTokenizers.SpieceModel("musicgen-mono"));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void MissingSpieceModelIsNamed()
    {
        string path = _temp.File("spiece.model");
        var error = Assert.Throws<MusicGenException>(() => T5Tokenizer.FromSentencePieceModel(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void EmptySpieceModelIsReported()
    {
        var error = LoadSpieceFails([]);
        Assert.Contains("empty", error.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(120_000)]
    [InlineData(-1)]
    public void TruncatedSpieceModelIsReported(int length)
    {
        var error = LoadSpieceFails(MonoModel[..(length < 0 ? MonoModel.Length + length : length)]);
        Assert.Contains("truncated or corrupt", error.Message);
    }

    [Fact]
    public void EveryCutOfTheModelLoadsAndTokenizesOrIsReportedAsCorrupt()
    {
        string path = _temp.File("spiece.model");
        int failed = 0, cuts = 0;
        for (int length = 1; length < MonoModel.Length; length += 997, cuts++)
        {
            File.WriteAllBytes(path, MonoModel[..length]);
            try
            {
                var tokenizer = T5Tokenizer.FromSentencePieceModel(path);
                Assert.Equal(tokenizer.EosId, tokenizer.Encode("drums and bass")[^1]);
            }
            catch (MusicGenException e)
            {
                Assert.StartsWith($"{path}: ", e.Message);
                failed++;
            }
        }
        // A cut at a field boundary can still be a valid (smaller) model, but most cuts end inside a field.
        Assert.True(failed > cuts / 2, $"only {failed} of {cuts} cuts were reported");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void GarbageBytesAreReported(int seed)
    {
        var garbage = new byte[new Random(seed).Next(1, 5000)];
        new Random(seed).NextBytes(garbage);
        LoadSpieceFails(garbage);
    }

    [Fact]
    public void TextFileIsReported() => LoadSpieceFails(Encoding.UTF8.GetBytes("this is not a sentencepiece model\n"));

    [Theory]
    [InlineData(3, 2UL, "unigram")]      // model_type BPE
    [InlineData(35, 1UL, "byte-fallback")]
    [InlineData(24, 1UL, "treat_whitespace_as_suffix")]
    public void UnsupportedTrainingOptionsAreReported(int field, ulong value, string expected)
    {
        var error = LoadSpieceFails(ModelProtoBytes.WithTrainerField(MonoModel, field, value));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void DuplicatePieceIsReported()
    {
        var error = LoadSpieceFails(ModelProtoBytes.WithPieces(MonoModel, ("\u2581", -1f, PieceType.Normal)));
        Assert.Contains("defined twice", error.Message);
    }

    [Fact]
    public void SecondUnknownPieceIsReported()
    {
        var error = LoadSpieceFails(ModelProtoBytes.WithPieces(MonoModel, ("<unk2>", 0f, PieceType.Unknown)));
        Assert.Contains("unknown piece", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0, 0, 1, 2, 3, 4 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 1 })]
    public void BrokenCharsmapIsReported(byte[] charsmap)
    {
        var error = LoadSpieceFails(ModelProtoBytes.WithCharsmap(MonoModel, charsmap));
        Assert.Contains("charsmap", error.Message);
    }

    [Fact]
    public void FolderWithoutTokenizerFilesIsNamed()
    {
        var error = Assert.Throws<MusicGenException>(() => T5Tokenizer.FromFolder(_temp.Path));
        Assert.Contains(_temp.Path, error.Message);
        Assert.Contains("spiece.model", error.Message);
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        string folder = _temp.File("nowhere");
        var error = Assert.Throws<MusicGenException>(() => T5Tokenizer.FromFolder(folder));
        Assert.Contains(folder, error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{not json")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{}")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {}, "merges": []}}""")]
    [InlineData("""{"model": {"type": "Unigram", "vocab": [["<pad>", 0.0]]}}""")]
    [InlineData("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], [1, 2]]}}""")]
    [InlineData("""{"model": {"type": "Unigram", "unk_id": 5, "vocab": [["<unk>", 0.0], ["a", -1.0]]}}""")]
    [InlineData("""{"model": {"type": "Unigram", "unk_id": 1.5, "vocab": [["<unk>", 0.0], ["a", -1.0]]}}""")]
    [InlineData("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0], ["<extra_id_0>", 0.0], ["<extra_id_1>", 0.0]]}}""")]
    [InlineData("""{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "%%%"}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0]]}}""")]
    [InlineData("""{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AQID"}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0]]}}""")]
    [InlineData("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0]]}}""")]
    public void BadTokenizerJsonIsNamed(string json)
    {
        string path = _temp.File("tokenizer.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<MusicGenException>(() => T5Tokenizer.FromTokenizerJson(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void TruncatedTokenizerJsonIsNamed()
    {
        string path = _temp.File("tokenizer.json");
        TokenizerJsonFixture.Write(SentencePieceModel.Load(GoldenTokenizers.SpieceModel("musicgen-mono")), path);
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);

        var error = Assert.Throws<MusicGenException>(() => T5Tokenizer.FromFolder(_temp.Path));
        Assert.Contains(path, error.Message);
    }

    private MusicGenException LoadSpieceFails(byte[] bytes)
    {
        string path = _temp.File("spiece.model");
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<MusicGenException>(() => T5Tokenizer.FromSentencePieceModel(path));
        Assert.Contains(path, error.Message);
        return error;
    }
}
