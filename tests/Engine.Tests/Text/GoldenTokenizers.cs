using System.Collections.Concurrent;
using System.Text.Json;
using MusicGen.Engine.Text;

namespace MusicGen.Tests.Text;

/// <summary>
/// The golden cases' tokenizers, loaded once per test class: each from the case's own spiece.model, and each from
/// a tokenizer.json written from that model into a temporary folder that holds nothing else.
/// </summary>
public sealed class GoldenTokenizers : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly ConcurrentDictionary<string, Lazy<T5Tokenizer>> _fromSpiece = new();
    private readonly ConcurrentDictionary<string, Lazy<T5Tokenizer>> _fromJson = new();

    public static string ModelFolder(string caseName) => Path.Combine(TestPaths.Golden(caseName), "model");

    public static string SpieceModel(string caseName) => Path.Combine(ModelFolder(caseName), "spiece.model");

    /// <summary>Golden cases whose checkpoint has a tokenizer.</summary>
    public static IEnumerable<string> CasesWithTokenizer() =>
        TestPaths.GoldenCases().Select(Path.GetFileName).OfType<string>().Where(c => File.Exists(SpieceModel(c)));

    public static JsonDocument CaseJson(string caseName) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Golden(caseName), "case.json")));

    public T5Tokenizer FromSpiece(string caseName) =>
        _fromSpiece.GetOrAdd(caseName, c => new Lazy<T5Tokenizer>(() => T5Tokenizer.FromFolder(ModelFolder(c)))).Value;

    public T5Tokenizer FromTokenizerJson(string caseName) =>
        _fromJson.GetOrAdd(caseName, c => new Lazy<T5Tokenizer>(() =>
        {
            string folder = Path.Combine(_temp.Path, c);
            Directory.CreateDirectory(folder);
            TokenizerJsonFixture.Write(SentencePieceModel.Load(SpieceModel(c)), Path.Combine(folder, "tokenizer.json"));
            return T5Tokenizer.FromFolder(folder);
        })).Value;

    public void Dispose() => _temp.Dispose();
}
