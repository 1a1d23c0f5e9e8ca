using MusicGen.Loaders;

namespace MusicGen.Engine.Text;

/// <summary>
/// The parts of a SentencePiece unigram model (<c>spiece.model</c>, a protobuf <c>ModelProto</c>) that encoding
/// needs: the pieces with their scores and types, and the normalizer settings.
/// </summary>
public sealed class SentencePieceModel
{
    // Field numbers from sentencepiece_model.proto.
    private const int ModelPieces = 1, ModelTrainerSpec = 2, ModelNormalizerSpec = 3;
    private const int PieceText = 1, PieceScore = 2, PieceKind = 3;
    private const int TrainerModelType = 3, TrainerTreatWhitespaceAsSuffix = 24, TrainerByteFallback = 35;
    private const int NormalizerCharsmap = 2, NormalizerAddDummyPrefix = 3, NormalizerRemoveExtraWhitespaces = 4, NormalizerEscapeWhitespaces = 5;
    private const int UnigramModelType = 1;

    public IReadOnlyList<SentencePiece> Pieces { get; }
    public NormalizerSpec Normalizer { get; }
    public int UnknownId { get; }

    /// <summary>Checks the pieces as sentencepiece does when it loads a model.</summary>
    /// <exception cref="InvalidDataException">The pieces do not make a usable unigram model.</exception>
    internal SentencePieceModel(IReadOnlyList<SentencePiece> pieces, NormalizerSpec normalizer)
    {
        if (pieces.Count == 0) throw new InvalidDataException("the model has no pieces");
        int unknownId = -1;
        bool hasSegmentablePiece = false;
        var segmentable = new HashSet<string>(StringComparer.Ordinal);
        var reserved = new HashSet<string>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Count; id++)
        {
            var piece = pieces[id];
            if (piece.Text.Length == 0) throw new InvalidDataException($"piece {id} is empty");
            if (piece.Type == PieceType.Byte) throw new InvalidDataException("byte-fallback models are not supported");
            bool isSegmentable = piece.Type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused;
            hasSegmentablePiece |= isSegmentable;
            if (!(isSegmentable ? segmentable : reserved).Add(piece.Text))
                throw new InvalidDataException($"piece '{piece.Text}' is defined twice");
            if (piece.Type == PieceType.Unknown)
            {
                if (unknownId >= 0) throw new InvalidDataException($"pieces {unknownId} and {id} are both the unknown piece");
                unknownId = id;
            }
        }
        if (unknownId < 0) throw new InvalidDataException("the model has no unknown piece");
        if (!hasSegmentablePiece) throw new InvalidDataException("the model has no normal pieces");
        Pieces = pieces;
        Normalizer = normalizer;
        UnknownId = unknownId;
    }

    /// <summary>Reads a <c>spiece.model</c> file.</summary>
    /// <exception cref="MusicGenException">The file is missing, unreadable or not a SentencePiece unigram model.</exception>
    public static SentencePieceModel Load(string path)
    {
        byte[] bytes = InputFile.ReadAllBytes(path);
        if (bytes.Length == 0) throw new MusicGenException($"{path}: the SentencePiece model file is empty");
        try
        {
            return Parse(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new MusicGenException($"{path}: not a valid SentencePiece model, it may be truncated or corrupt ({e.Message})", e);
        }
    }

    /// <exception cref="InvalidDataException">The bytes are not a SentencePiece unigram model.</exception>
    internal static SentencePieceModel Parse(ReadOnlySpan<byte> bytes)
    {
        var pieces = new List<SentencePiece>();
        var normalizer = new NormalizerSpec([]);
        var reader = new ProtobufReader(bytes);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field)
            {
                case ModelPieces:
                    reader.Expect(wireType, ProtobufReader.WireLengthDelimited);
                    pieces.Add(ParsePiece(reader.ReadLengthDelimited()));
                    break;
                case ModelTrainerSpec:
                    reader.Expect(wireType, ProtobufReader.WireLengthDelimited);
                    CheckTrainerSpec(reader.ReadLengthDelimited());
                    break;
                case ModelNormalizerSpec:
                    reader.Expect(wireType, ProtobufReader.WireLengthDelimited);
                    normalizer = ParseNormalizerSpec(reader.ReadLengthDelimited(), normalizer);
                    break;
                default:
                    reader.SkipField(wireType);
                    break;
            }
        }
        return new SentencePieceModel(pieces, normalizer);
    }

    private static SentencePiece ParsePiece(ReadOnlySpan<byte> bytes)
    {
        string text = "";
        float score = 0;
        var type = PieceType.Normal;
        var reader = new ProtobufReader(bytes);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field)
            {
                case PieceText:
                    reader.Expect(wireType, ProtobufReader.WireLengthDelimited);
                    text = reader.ReadString();
                    break;
                case PieceScore:
                    reader.Expect(wireType, ProtobufReader.WireFixed32);
                    score = reader.ReadFloat();
                    break;
                case PieceKind:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    int value = reader.ReadInt32();
                    if (!Enum.IsDefined((PieceType)value)) throw new InvalidDataException($"piece type {value} is not a known type");
                    type = (PieceType)value;
                    break;
                default:
                    reader.SkipField(wireType);
                    break;
            }
        }
        return new SentencePiece(text, score, type);
    }

    /// <summary>Rejects the training options that change encoding in ways this implementation does not follow.</summary>
    private static void CheckTrainerSpec(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtobufReader(bytes);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field)
            {
                case TrainerModelType:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    int modelType = reader.ReadInt32();
                    if (modelType != UnigramModelType)
                        throw new InvalidDataException($"model type {modelType} is not supported (only unigram models, type {UnigramModelType}, are)");
                    break;
                case TrainerTreatWhitespaceAsSuffix:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    if (reader.ReadBool()) throw new InvalidDataException("treat_whitespace_as_suffix models are not supported");
                    break;
                case TrainerByteFallback:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    if (reader.ReadBool()) throw new InvalidDataException("byte-fallback models are not supported");
                    break;
                default:
                    reader.SkipField(wireType);
                    break;
            }
        }
    }

    /// <summary>Applies the fields present onto <paramref name="current"/> (protobuf merges repeated occurrences).</summary>
    private static NormalizerSpec ParseNormalizerSpec(ReadOnlySpan<byte> bytes, NormalizerSpec current)
    {
        var reader = new ProtobufReader(bytes);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field)
            {
                case NormalizerCharsmap:
                    reader.Expect(wireType, ProtobufReader.WireLengthDelimited);
                    current = current with { PrecompiledCharsmap = reader.ReadLengthDelimited().ToArray() };
                    break;
                case NormalizerAddDummyPrefix:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    current = current with { AddDummyPrefix = reader.ReadBool() };
                    break;
                case NormalizerRemoveExtraWhitespaces:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    current = current with { RemoveExtraWhitespaces = reader.ReadBool() };
                    break;
                case NormalizerEscapeWhitespaces:
                    reader.Expect(wireType, ProtobufReader.WireVarint);
                    current = current with { EscapeWhitespaces = reader.ReadBool() };
                    break;
                default:
                    reader.SkipField(wireType);
                    break;
            }
        }
        return current;
    }
}
