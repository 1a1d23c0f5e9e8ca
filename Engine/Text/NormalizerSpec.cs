namespace MusicGen.Engine.Text;

/// <summary>
/// How SentencePiece normalizes text before segmentation. The defaults are the protobuf defaults.
/// </summary>
/// <param name="PrecompiledCharsmap">The compiled character rules (a Darts trie and its replacement strings); empty means none.</param>
/// <param name="AddDummyPrefix">Put a space in front of the text, so the first word looks like every other word.</param>
/// <param name="RemoveExtraWhitespaces">Drop leading and trailing spaces and collapse runs of spaces into one.</param>
/// <param name="EscapeWhitespaces">Write spaces as U+2581 (▁).</param>
public sealed record NormalizerSpec(
    byte[] PrecompiledCharsmap,
    bool AddDummyPrefix = true,
    bool RemoveExtraWhitespaces = true,
    bool EscapeWhitespaces = true);
