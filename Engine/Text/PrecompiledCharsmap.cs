using System.Buffers.Binary;

namespace MusicGen.Engine.Text;

/// <summary>
/// SentencePiece's compiled normalization rules (for T5, <c>nmt_nfkc</c>): a little-endian uint32 giving the size of a
/// Darts-clone double-array trie, the trie's 32-bit units, then a blob of NUL-terminated replacement strings. The
/// trie maps a UTF-8 byte sequence to the offset of its replacement in the blob.
/// </summary>
internal sealed class PrecompiledCharsmap
{
    private readonly uint[] _units;
    private readonly byte[] _replacements;

    /// <exception cref="InvalidDataException">The blob is too short for its own header.</exception>
    public PrecompiledCharsmap(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4) throw new InvalidDataException($"the precompiled charsmap has {blob.Length} bytes, too few for its header");
        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes < 4 || trieBytes > blob.Length - 4)
            throw new InvalidDataException($"the precompiled charsmap declares a trie of {trieBytes} bytes but holds {blob.Length - 4}");
        _units = new uint[trieBytes / 4];
        for (int i = 0; i < _units.Length; i++) _units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob[(4 + 4 * i)..]);
        _replacements = blob[(4 + (int)trieBytes)..].ToArray();
    }

    /// <summary>
    /// Finds the longest rule whose key is a prefix of <paramref name="text"/>. Returns the key's length in bytes,
    /// or 0 when no rule applies. Units that point outside the arrays (a corrupt map) end the search.
    /// </summary>
    public int LongestMatch(ReadOnlySpan<byte> text, out ReadOnlySpan<byte> replacement)
    {
        replacement = default;
        int longest = 0;
        uint position = Offset(_units[0]);
        for (int i = 0; i < text.Length; i++)
        {
            position ^= text[i];
            if (position >= _units.Length) break;
            uint unit = _units[position];
            if (Label(unit) != text[i]) break;
            position ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (position >= _units.Length) break;
                int start = (int)Value(_units[position]);
                if (start >= _replacements.Length) break;
                var rest = _replacements.AsSpan(start);
                int end = rest.IndexOf((byte)0);
                replacement = end < 0 ? rest : rest[..end];
                longest = i + 1;
            }
        }
        return longest;
    }

    // The Darts-clone unit layout.
    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    private static uint Value(uint unit) => unit & 0x7FFF_FFFF;
    // A leaf unit has its top bit set, so its label never equals a byte.
    private static uint Label(uint unit) => unit & 0x8000_00FF;
    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
