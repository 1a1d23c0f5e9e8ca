namespace MusicGen.Engine.Text;

/// <summary>A piece found in normalized text: its byte range and its id.</summary>
internal readonly record struct PieceSpan(int Start, int Length, int Id);

/// <summary>
/// Segments normalized text into the sequence of pieces with the highest total score, following sentencepiece's
/// optimized unigram Viterbi (unigram_model.cc, EncodeOptimized) down to its float arithmetic and tie-breaking.
/// </summary>
internal sealed class UnigramModel
{
    // sentencepiece scores a character no piece covers as the lowest piece score minus this penalty.
    private const float UnknownPenalty = 10f;
    // sentencepiece starts its maximum at FLT_MIN (the smallest positive normal float), not at the lowest float.
    private const float FloatMin = 1.17549435E-38f;

    private readonly PieceTrie _trie;
    private readonly float[] _scores;
    private readonly bool[] _isUserDefined;
    private readonly float _maxScore;
    private readonly float _unknownScore;

    public int UnknownId { get; }

    public UnigramModel(SentencePieceModel model)
    {
        var pieces = model.Pieces;
        _scores = pieces.Select(p => p.Score).ToArray();
        _isUserDefined = pieces.Select(p => p.Type == PieceType.UserDefined).ToArray();
        // Unused pieces are never produced and control pieces never matched, so neither goes into the trie.
        _trie = new PieceTrie(pieces.Select((piece, id) => (piece, id))
            .Where(p => p.piece.Type is PieceType.Normal or PieceType.UserDefined)
            .Select(p => (p.piece.Text, p.id)));
        float minScore = float.MaxValue, maxScore = FloatMin;
        foreach (var piece in pieces.Where(p => p.Type == PieceType.Normal))
        {
            minScore = Math.Min(minScore, piece.Score);
            maxScore = Math.Max(maxScore, piece.Score);
        }
        _maxScore = maxScore;
        _unknownScore = minScore - UnknownPenalty;
        UnknownId = model.UnknownId;
    }

    /// <summary>
    /// Appends the best segmentation of <paramref name="normalized"/> to <paramref name="output"/>. Runs of
    /// unknown characters come out as one unknown piece, as sentencepiece's encoder merges them.
    /// </summary>
    public void Encode(ReadOnlySpan<byte> normalized, List<PieceSpan> output)
    {
        int size = normalized.Length;
        if (size == 0) return;
        // For every end position: the best path's score, where its last piece starts (-1: not reached yet) and its id.
        var bestScore = new float[size + 1];
        var bestStart = new int[size + 1];
        var bestId = new int[size + 1];
        Array.Fill(bestStart, -1);

        for (int start = 0, charLength; start < size; start += charLength)
        {
            float scoreSoFar = bestScore[start];
            charLength = Utf8Char.LengthAt(normalized[start..]);
            bool hasSingleCharacterPiece = false;
            int node = PieceTrie.Root;
            for (int end = start + 1; end <= size && (node = _trie.Step(node, normalized[end - 1])) >= 0; end++)
            {
                int id = _trie.PieceAt(node);
                if (id < 0) continue;
                int length = end - start;
                // A user-defined piece gets a bonus so it always wins. Because that bonus is a double in sentencepiece,
                // every piece's candidate score is summed in double and compared unrounded with the stored float;
                // this decides ties such as "ss"+"s" against "s"+"ss".
                double pieceScore = _isUserDefined[id] ? (double)(length * _maxScore) - 0.1 : _scores[id];
                Offer(end, pieceScore + scoreSoFar, start, id);
                if (length == charLength) hasSingleCharacterPiece = true;
            }
            // The unknown candidate, by contrast, is a float sum.
            if (!hasSingleCharacterPiece) Offer(start + charLength, (float)(_unknownScore + scoreSoFar), start, UnknownId);
        }

        int firstNew = output.Count;
        for (int end = size; end > 0; end = bestStart[end])
            output.Add(new PieceSpan(bestStart[end], end - bestStart[end], bestId[end]));
        output.Reverse(firstNew, output.Count - firstNew);
        MergeUnknownRuns(output, firstNew);

        void Offer(int end, double score, int start, int id)
        {
            if (bestStart[end] == -1 || score > bestScore[end])
            {
                bestScore[end] = (float)score;
                bestStart[end] = start;
                bestId[end] = id;
            }
        }
    }

    private void MergeUnknownRuns(List<PieceSpan> pieces, int first)
    {
        int kept = first;
        for (int i = first; i < pieces.Count; i++)
        {
            var piece = pieces[i];
            if (kept > first && piece.Id == UnknownId && pieces[kept - 1].Id == UnknownId)
                pieces[kept - 1] = pieces[kept - 1] with { Length = pieces[kept - 1].Length + piece.Length };
            else
                pieces[kept++] = piece;
        }
        pieces.RemoveRange(kept, pieces.Count - kept);
    }
}
