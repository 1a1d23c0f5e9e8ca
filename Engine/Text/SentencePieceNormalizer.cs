namespace MusicGen.Engine.Text;

/// <summary>
/// Normalizes UTF-8 text as sentencepiece's Normalizer does: each step rewrites the longest prefix that a rule
/// matches (user-defined pieces are kept as they are, then the charsmap applies, else one character passes through),
/// while spaces are collapsed, trimmed, prefixed with one dummy space and escaped to ▁.
/// </summary>
internal sealed class SentencePieceNormalizer
{
    private static ReadOnlySpan<byte> EscapedSpace => "\u2581"u8;
    private static ReadOnlySpan<byte> Space => " "u8;

    private readonly NormalizerSpec _spec;
    private readonly PrecompiledCharsmap? _charsmap;
    private readonly PieceTrie? _userDefinedPieces;

    /// <exception cref="InvalidDataException">The precompiled charsmap is malformed.</exception>
    public SentencePieceNormalizer(NormalizerSpec spec, IReadOnlyList<SentencePiece> pieces)
    {
        _spec = spec;
        if (spec.PrecompiledCharsmap.Length > 0) _charsmap = new PrecompiledCharsmap(spec.PrecompiledCharsmap);
        var userDefined = pieces.Select((piece, id) => (piece.Text, Id: id, piece.Type)).Where(p => p.Type == PieceType.UserDefined).ToList();
        if (userDefined.Count > 0) _userDefinedPieces = new PieceTrie(userDefined.Select(p => (p.Text, p.Id)));
    }

    /// <summary>Replaces the contents of <paramref name="output"/> with the normalized form of <paramref name="input"/>.</summary>
    public void Normalize(ReadOnlySpan<byte> input, List<byte> output)
    {
        output.Clear();
        bool removeExtraSpaces = _spec.RemoveExtraWhitespaces;
        if (removeExtraSpaces)
        {
            while (!input.IsEmpty && NormalizePrefix(input, out int consumed).SequenceEqual(Space))
                input = input[consumed..];
        }
        if (input.IsEmpty) return;

        ReadOnlySpan<byte> space = _spec.EscapeWhitespaces ? EscapedSpace : Space;
        if (_spec.AddDummyPrefix) output.AddRange(space);

        bool previousEndsWithSpace = removeExtraSpaces;
        while (!input.IsEmpty)
        {
            var piece = NormalizePrefix(input, out int consumed);
            input = input[consumed..];
            if (previousEndsWithSpace)
            {
                while (!piece.IsEmpty && piece[0] == (byte)' ') piece = piece[1..];
            }
            if (!piece.IsEmpty)
            {
                foreach (byte b in piece)
                {
                    if (b == (byte)' ') output.AddRange(space);
                    else output.Add(b);
                }
                previousEndsWithSpace = piece[^1] == (byte)' ';
            }
            if (!removeExtraSpaces) previousEndsWithSpace = false;
        }

        if (removeExtraSpaces)
        {
            // Like sentencepiece, this also drops ▁ characters that were in the input itself.
            int length = output.Count;
            while (length >= space.Length && System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output)[..length].EndsWith(space))
                length -= space.Length;
            output.RemoveRange(length, output.Count - length);
        }
    }

    /// <summary>The replacement for the longest rule at the start of <paramref name="input"/> and how many bytes it covers.</summary>
    private ReadOnlySpan<byte> NormalizePrefix(ReadOnlySpan<byte> input, out int consumed)
    {
        if (_userDefinedPieces is not null)
        {
            consumed = _userDefinedPieces.LongestPrefixLength(input);
            if (consumed > 0) return input[..consumed];
        }
        if (_charsmap is not null)
        {
            consumed = _charsmap.LongestMatch(input, out var replacement);
            if (consumed > 0) return replacement;
        }
        consumed = Utf8Char.LengthAt(input);
        return input[..consumed];
    }
}
