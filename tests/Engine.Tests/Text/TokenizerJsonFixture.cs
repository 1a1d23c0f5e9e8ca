using System.Text.Json;
using MusicGen.Engine.Text;

namespace MusicGen.Tests.Text;

/// <summary>
/// Writes the <c>tokenizer.json</c> that transformers' T5 converter makes from a <c>spiece.model</c> (its
/// <c>tokenizers</c> package is not in the reference environment): the pieces and scores followed by the sentinels
/// from <c>&lt;extra_id_99&gt;</c> down, control and unknown pieces as special added tokens, user-defined ones as plain
/// added tokens, and the charsmap as the normalizer's Precompiled step.
/// </summary>
internal static class TokenizerJsonFixture
{
    public enum Layout
    {
        /// <summary>As transformers 4.43 writes it: a normalizer Sequence and Metaspace with prepend_scheme.</summary>
        Current,
        /// <summary>As older Hub files (t5-base) have it: a bare Precompiled normalizer, Metaspace with add_prefix_space in a Sequence.</summary>
        Legacy,
    }

    public static void Write(SentencePieceModel model, string path, Layout layout = Layout.Current,
        int extraIdCount = T5Tokenizer.DefaultExtraIdCount)
    {
        var pieces = model.Pieces;
        int vocabSize = pieces.Count + extraIdCount;
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");

        json.WriteStartArray("added_tokens");
        for (int id = 0; id < pieces.Count; id++)
        {
            if (pieces[id].Type is PieceType.Control or PieceType.Unknown or PieceType.UserDefined)
                WriteAddedToken(json, id, pieces[id].Text, special: pieces[id].Type != PieceType.UserDefined, strip: false);
        }
        for (int i = extraIdCount - 1; i >= 0; i--)
            WriteAddedToken(json, vocabSize - 1 - i, $"<extra_id_{i}>", special: true, strip: true);
        json.WriteEndArray();

        string charsmap = Convert.ToBase64String(model.Normalizer.PrecompiledCharsmap);
        json.WritePropertyName("normalizer");
        if (layout == Layout.Current)
        {
            json.WriteStartObject();
            json.WriteString("type", "Sequence");
            json.WriteStartArray("normalizers");
            WritePrecompiled(json, charsmap);
            json.WriteStartObject();
            json.WriteString("type", "Strip");
            json.WriteBoolean("strip_left", false);
            json.WriteBoolean("strip_right", true);
            json.WriteEndObject();
            json.WriteStartObject();
            json.WriteString("type", "Replace");
            json.WriteStartObject("pattern");
            json.WriteString("Regex", " {2,}");
            json.WriteEndObject();
            json.WriteString("content", "\u2581");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();

            json.WritePropertyName("pre_tokenizer");
            WriteMetaspace(json, layout);
        }
        else
        {
            WritePrecompiled(json, charsmap);
            json.WriteStartObject("pre_tokenizer");
            json.WriteString("type", "Sequence");
            json.WriteStartArray("pretokenizers");
            json.WriteStartObject();
            json.WriteString("type", "WhitespaceSplit");
            json.WriteEndObject();
            WriteMetaspace(json, layout);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteStartObject("post_processor");
        json.WriteString("type", "TemplateProcessing");
        json.WriteStartArray("single");
        json.WriteStartObject();
        json.WriteStartObject("Sequence");
        json.WriteString("id", "A");
        json.WriteNumber("type_id", 0);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject();
        json.WriteStartObject("SpecialToken");
        json.WriteString("id", "</s>");
        json.WriteNumber("type_id", 0);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();

        json.WritePropertyName("decoder");
        WriteMetaspace(json, layout);

        json.WriteStartObject("model");
        json.WriteString("type", "Unigram");
        json.WriteNumber("unk_id", model.UnknownId);
        json.WriteStartArray("vocab");
        foreach (var piece in pieces) WriteVocabEntry(json, piece.Text, piece.Score);
        for (int i = extraIdCount - 1; i >= 0; i--) WriteVocabEntry(json, $"<extra_id_{i}>", 0);
        json.WriteEndArray();
        json.WriteBoolean("byte_fallback", false);
        json.WriteEndObject();

        json.WriteEndObject();
    }

    private static void WriteAddedToken(Utf8JsonWriter json, int id, string content, bool special, bool strip)
    {
        json.WriteStartObject();
        json.WriteNumber("id", id);
        json.WriteString("content", content);
        json.WriteBoolean("single_word", false);
        json.WriteBoolean("lstrip", strip);
        json.WriteBoolean("rstrip", strip);
        json.WriteBoolean("normalized", false);
        json.WriteBoolean("special", special);
        json.WriteEndObject();
    }

    private static void WritePrecompiled(Utf8JsonWriter json, string charsmap)
    {
        json.WriteStartObject();
        json.WriteString("type", "Precompiled");
        json.WriteString("precompiled_charsmap", charsmap);
        json.WriteEndObject();
    }

    private static void WriteMetaspace(Utf8JsonWriter json, Layout layout)
    {
        json.WriteStartObject();
        json.WriteString("type", "Metaspace");
        json.WriteString("replacement", "\u2581");
        if (layout == Layout.Current)
        {
            json.WriteString("prepend_scheme", "always");
            json.WriteBoolean("split", true);
        }
        else
        {
            json.WriteBoolean("add_prefix_space", true);
        }
        json.WriteEndObject();
    }

    private static void WriteVocabEntry(Utf8JsonWriter json, string text, float score)
    {
        json.WriteStartArray();
        json.WriteStringValue(text);
        json.WriteNumberValue((double)score);
        json.WriteEndArray();
    }
}
