namespace MusicGen.Engine.Text;

/// <summary>The kinds of vocabulary entries in a SentencePiece model (values as in sentencepiece_model.proto).</summary>
public enum PieceType
{
    /// <summary>An ordinary piece, found by segmentation.</summary>
    Normal = 1,
    /// <summary>The single piece that stands for text no other piece covers.</summary>
    Unknown = 2,
    /// <summary>A piece segmentation never produces, such as &lt;pad&gt; and &lt;/s&gt;.</summary>
    Control = 3,
    /// <summary>A piece kept whole: the normalizer leaves it alone and segmentation always prefers it.</summary>
    UserDefined = 4,
    /// <summary>A piece that is in the vocabulary but never produced.</summary>
    Unused = 5,
    /// <summary>A byte-fallback piece such as &lt;0x41&gt;.</summary>
    Byte = 6,
}

/// <summary>One vocabulary entry; its id is its index in the model.</summary>
public sealed record SentencePiece(string Text, float Score, PieceType Type);
