using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Engine.Text;

/// <summary>
/// The T5 text tokenizer as transformers' slow <c>T5Tokenizer</c> runs it in legacy mode: added tokens
/// (<c>&lt;pad&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;extra_id_N&gt;</c>) written in the text are split out
/// first, every stretch of text between them goes through SentencePiece on its own, and <c>&lt;/s&gt;</c> ends the ids.
/// Immutable, so one instance can serve several threads.
/// </summary>
public sealed class T5Tokenizer
{
    /// <summary>How many sentinel tokens T5Tokenizer adds on top of the SentencePiece vocabulary by default.</summary>
    public const int DefaultExtraIdCount = 100;

    private const string PadToken = "<pad>", EosToken = "</s>", UnkToken = "<unk>";

    private readonly SentencePieceNormalizer _normalizer;
    private readonly UnigramModel _unigram;
    private readonly Dictionary<string, AddedToken>.AlternateLookup<ReadOnlySpan<char>> _addedTokens;
    private readonly int _longestAddedToken;
    // Token text to id, as transformers converts a piece string: added tokens first, then SentencePiece's own lookup.
    private readonly Dictionary<string, int> _tokenIds;

    public int VocabSize { get; }
    public int PadId { get; }
    public int EosId { get; }
    public int UnkId { get; }

    /// <param name="model">The SentencePiece model: pieces, scores and normalizer.</param>
    /// <param name="extraIdCount">Sentinels <c>&lt;extra_id_0&gt;</c> = VocabSize − 1 downwards, after the pieces.</param>
    /// <param name="source">The file the model came from, named in errors.</param>
    private T5Tokenizer(SentencePieceModel model, int extraIdCount, string source)
    {
        var pieces = model.Pieces;
        try
        {
            _normalizer = new SentencePieceNormalizer(model.Normalizer, pieces);
        }
        catch (InvalidDataException e)
        {
            throw new MusicGenException($"{source}: {e.Message}", e);
        }
        _unigram = new UnigramModel(model);

        // SentencePiece looks reserved pieces (control, unknown) up before the others.
        _tokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Count; id++)
            if (pieces[id].Type is PieceType.Control or PieceType.Unknown) _tokenIds.TryAdd(pieces[id].Text, id);
        for (int id = 0; id < pieces.Count; id++) _tokenIds.TryAdd(pieces[id].Text, id);

        var addedTokens = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        foreach (string token in new[] { PadToken, EosToken, UnkToken })
        {
            if (!_tokenIds.TryGetValue(token, out int id))
                throw new MusicGenException($"{source}: the vocabulary has no {token} piece, which T5 needs");
            addedTokens[token] = new AddedToken(id, StripsWhitespace: false);
        }
        VocabSize = pieces.Count + extraIdCount;
        for (int i = 0; i < extraIdCount; i++)
            addedTokens[$"<extra_id_{i}>"] = new AddedToken(VocabSize - 1 - i, StripsWhitespace: true);
        foreach (var (text, token) in addedTokens) _tokenIds[text] = token.Id;
        _addedTokens = addedTokens.GetAlternateLookup<ReadOnlySpan<char>>();
        _longestAddedToken = addedTokens.Keys.Max(k => k.Length);

        PadId = addedTokens[PadToken].Id;
        EosId = addedTokens[EosToken].Id;
        UnkId = addedTokens[UnkToken].Id;
    }

    /// <summary>Loads <c>spiece.model</c> from the folder, or else the Unigram model in <c>tokenizer.json</c>.</summary>
    /// <exception cref="MusicGenException">Neither file is there, or the one found is unusable.</exception>
    public static T5Tokenizer FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new MusicGenException($"{folder}: tokenizer folder not found");
        string spieceModel = Path.Combine(folder, "spiece.model");
        if (File.Exists(spieceModel)) return FromSentencePieceModel(spieceModel);
        string tokenizerJson = Path.Combine(folder, "tokenizer.json");
        if (File.Exists(tokenizerJson)) return FromTokenizerJson(tokenizerJson);
        throw new MusicGenException($"{folder}: neither spiece.model nor tokenizer.json is there, so the prompts cannot be tokenized");
    }

    /// <exception cref="MusicGenException">The file is missing, truncated or corrupt.</exception>
    public static T5Tokenizer FromSentencePieceModel(string path) =>
        new(SentencePieceModel.Load(path), DefaultExtraIdCount, path);

    /// <exception cref="MusicGenException">The file is missing, not JSON, or not a T5 Unigram tokenizer.</exception>
    public static T5Tokenizer FromTokenizerJson(string path)
    {
        var (model, extraIdCount) = TokenizerJson.Load(path);
        return new T5Tokenizer(model, extraIdCount, path);
    }

    /// <summary>The ids of one text with <c>&lt;/s&gt;</c> appended, as <c>T5Tokenizer(text).input_ids</c>.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var normalized = new List<byte>();
        var pieces = new List<PieceSpan>();

        // Every added token has the form <...> with no other angle bracket inside, so a match can only start at a
        // '<' and end at the next '>'; no token is a prefix of another, so this finds what transformers' trie finds.
        int chunkStart = 0;
        bool trimChunkStart = false;
        int open = text.IndexOf('<');
        while (open >= 0)
        {
            int window = Math.Min(_longestAddedToken, text.Length - open);
            int close = text.AsSpan(open, window).IndexOf('>');
            if (close < 0 || !_addedTokens.TryGetValue(text.AsSpan(open, close + 1), out var token))
            {
                open = text.IndexOf('<', open + 1);
                continue;
            }
            // Sentinels swallow the whitespace on both sides of them (AddedToken lstrip and rstrip).
            var chunk = PythonWhitespace.Trim(text.AsSpan(chunkStart, open - chunkStart), trimChunkStart, token.StripsWhitespace);
            EncodeChunk(chunk, ids, normalized, pieces);
            ids.Add(token.Id);
            trimChunkStart = token.StripsWhitespace;
            chunkStart = open + close + 1;
            open = text.IndexOf('<', chunkStart);
        }
        EncodeChunk(PythonWhitespace.Trim(text.AsSpan(chunkStart), trimChunkStart, end: false), ids, normalized, pieces);

        // transformers does not append </s> when the ids already end with it.
        if (ids.Count == 0 || ids[^1] != EosId) ids.Add(EosId);
        return ids.ToArray();
    }

    /// <summary>Encodes every text and pads on the right with <see cref="PadId"/>, as <c>tokenizer(texts, padding=True)</c>.</summary>
    public TokenBatch EncodeBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var rows = texts.Select(Encode).ToArray();
        int length = rows.Length == 0 ? 0 : rows.Max(r => r.Length);
        var inputIds = new long[rows.Length * length];
        var attentionMask = new long[rows.Length * length];
        for (int b = 0; b < rows.Length; b++)
        {
            var ids = inputIds.AsSpan(b * length, length);
            ids.Fill(PadId);
            for (int t = 0; t < rows[b].Length; t++) ids[t] = rows[b][t];
            attentionMask.AsSpan(b * length, rows[b].Length).Fill(1);
        }
        return new TokenBatch(rows.Length, length, inputIds, attentionMask);
    }

    /// <summary>Runs SentencePiece over one stretch of text that holds no added token.</summary>
    private void EncodeChunk(ReadOnlySpan<char> chunk, List<int> ids, List<byte> normalized, List<PieceSpan> pieces)
    {
        if (chunk.IsEmpty) return;
        // Lone surrogates become U+FFFD here (Python would refuse such a string outright).
        byte[] utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(chunk.Length));
        try
        {
            int byteCount = Encoding.UTF8.GetBytes(chunk, utf8);
            _normalizer.Normalize(utf8.AsSpan(0, byteCount), normalized);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }

        var text = CollectionsMarshal.AsSpan(normalized);
        pieces.Clear();
        _unigram.Encode(text, pieces);
        foreach (var piece in pieces)
        {
            if (piece.Id != _unigram.UnknownId)
            {
                ids.Add(piece.Id);
                continue;
            }
            // transformers maps the unknown piece's text back to an id, which only finds something when that text
            // happens to be an added token or a piece; otherwise it is the unknown id.
            string surface = Encoding.UTF8.GetString(text.Slice(piece.Start, piece.Length));
            ids.Add(_tokenIds.TryGetValue(surface, out int id) ? id : _unigram.UnknownId);
        }
    }

    private readonly record struct AddedToken(int Id, bool StripsWhitespace);
}
