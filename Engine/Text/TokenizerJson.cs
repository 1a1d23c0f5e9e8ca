using System.Text.Json;
using MusicGen.Loaders;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Text;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> holding a T5 Unigram model into the same form as <c>spiece.model</c>.
/// The file has no piece types, so they are rebuilt: <c>model.unk_id</c> is the unknown piece, special added tokens
/// are control pieces and other added tokens user-defined ones. The normalizer's <c>Precompiled</c> step gives the
/// charsmap, the <c>Metaspace</c> pre-tokenizer whether a dummy prefix is added; T5's sentinels are the
/// <c>&lt;extra_id_N&gt;</c> entries that the converter appends to the vocabulary.
/// </summary>
internal static class TokenizerJson
{
    private const string ExtraIdPrefix = "<extra_id_";

    /// <exception cref="MusicGenException">The file is missing, not JSON, or not a T5 Unigram tokenizer.</exception>
    public static (SentencePieceModel Model, int ExtraIdCount) Load(string path)
    {
        using var document = ConfigReader.ParseFile(path);
        try
        {
            return Read(document.RootElement);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            // InvalidOperationException and FormatException come from JsonElement reading a value of another kind.
            throw new MusicGenException($"{path}: not a usable T5 Unigram tokenizer ({e.Message})", e);
        }
    }

    private static (SentencePieceModel, int) Read(JsonElement root)
    {
        var model = Property(root, "model", JsonValueKind.Object);
        string type = Property(model, "type", JsonValueKind.String).GetString()!;
        if (type != "Unigram") throw new InvalidDataException($"the model type is {type}, and only Unigram is supported");
        if (model.TryGetProperty("byte_fallback", out var byteFallback) && byteFallback.ValueKind == JsonValueKind.True)
            throw new InvalidDataException("byte-fallback models are not supported");
        int unknownId = Property(model, "unk_id", JsonValueKind.Number).GetInt32();

        var vocab = Property(model, "vocab", JsonValueKind.Array).EnumerateArray().Select(ReadVocabEntry).ToList();
        int extraIdCount = CountExtraIds(vocab);
        int pieceCount = vocab.Count - extraIdCount;
        if (unknownId < 0 || unknownId >= pieceCount) throw new InvalidDataException($"unk_id {unknownId} is outside the vocabulary");

        var addedIsSpecial = new Dictionary<int, bool>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in addedTokens.EnumerateArray())
                addedIsSpecial[Property(token, "id", JsonValueKind.Number).GetInt32()] =
                    token.TryGetProperty("special", out var special) && special.ValueKind == JsonValueKind.True;
        }

        var pieces = new SentencePiece[pieceCount];
        for (int id = 0; id < pieceCount; id++)
        {
            var pieceType = id == unknownId ? PieceType.Unknown
                : !addedIsSpecial.TryGetValue(id, out bool isSpecial) ? PieceType.Normal
                : isSpecial ? PieceType.Control : PieceType.UserDefined;
            pieces[id] = new SentencePiece(vocab[id].Text, vocab[id].Score, pieceType);
        }

        var normalizer = new NormalizerSpec(
            PrecompiledCharsmap: FindStep(root, "normalizer", "normalizers", "Precompiled") is { } precompiled
                ? Convert.FromBase64String(Property(precompiled, "precompiled_charsmap", JsonValueKind.String).GetString()!)
                : [],
            AddDummyPrefix: FindStep(root, "pre_tokenizer", "pretokenizers", "Metaspace") is not { } metaspace || PrependsSpace(metaspace));
        return (new SentencePieceModel(pieces, normalizer), extraIdCount);
    }

    private static (string Text, float Score) ReadVocabEntry(JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2
            || entry[0].ValueKind != JsonValueKind.String || entry[1].ValueKind != JsonValueKind.Number)
            throw new InvalidDataException($"a vocabulary entry is {entry.GetRawText()}, not [piece, score]");
        return (entry[0].GetString()!, (float)entry[1].GetDouble());
    }

    /// <summary>
    /// Counts the sentinels at the end of the vocabulary, checking they run from the highest down to
    /// <c>&lt;extra_id_0&gt;</c> as the T5 converter writes them.
    /// </summary>
    private static int CountExtraIds(List<(string Text, float Score)> vocab)
    {
        int count = 0;
        while (count < vocab.Count && vocab[vocab.Count - 1 - count].Text.StartsWith(ExtraIdPrefix, StringComparison.Ordinal)) count++;
        for (int k = 0; k < count; k++)
        {
            string expected = $"{ExtraIdPrefix}{count - 1 - k}>";
            string actual = vocab[vocab.Count - count + k].Text;
            if (actual != expected) throw new InvalidDataException($"the vocabulary ends with {actual} where {expected} belongs");
        }
        return count;
    }

    /// <summary>The step of the given type, whether it stands alone or sits in a Sequence; null when absent.</summary>
    private static JsonElement? FindStep(JsonElement root, string section, string sequenceItems, string type)
    {
        if (!root.TryGetProperty(section, out var step) || step.ValueKind != JsonValueKind.Object) return null;
        string? stepType = step.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (stepType == type) return step;
        if (stepType == "Sequence" && step.TryGetProperty(sequenceItems, out var items) && items.ValueKind == JsonValueKind.Array)
            return items.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object
                && i.TryGetProperty("type", out var it) && it.ValueKind == JsonValueKind.String && it.GetString() == type)
                .Select(i => (JsonElement?)i).FirstOrDefault();
        return null;
    }

    /// <summary>Whether Metaspace puts ▁ before the text: <c>prepend_scheme</c> in newer files, <c>add_prefix_space</c> in older.</summary>
    private static bool PrependsSpace(JsonElement metaspace)
    {
        if (metaspace.TryGetProperty("prepend_scheme", out var scheme) && scheme.ValueKind == JsonValueKind.String)
            return scheme.GetString() != "never";
        return !metaspace.TryGetProperty("add_prefix_space", out var add) || add.ValueKind != JsonValueKind.False;
    }

    private static JsonElement Property(JsonElement parent, string name, JsonValueKind kind)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value))
            throw new InvalidDataException($"'{name}' is missing");
        if (value.ValueKind != kind) throw new InvalidDataException($"'{name}' is {value.ValueKind}, not {kind}");
        return value;
    }
}
