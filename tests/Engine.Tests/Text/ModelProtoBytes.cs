using System.Buffers.Binary;
using System.Text;
using MusicGen.Engine.Text;

namespace MusicGen.Tests.Text;

/// <summary>
/// Builds variants of a spiece.model by appending protobuf fields to its bytes: a parser appends repeated fields
/// (so an appended piece gets the next id) and merges a repeated message field into the earlier one.
/// </summary>
internal static class ModelProtoBytes
{
    private const int Pieces = 1, TrainerSpec = 2, NormalizerSpec = 3;

    public static byte[] WithPieces(byte[] model, params (string Text, float Score, PieceType Type)[] pieces)
    {
        var bytes = new List<byte>(model);
        foreach (var (text, score, type) in pieces)
        {
            var piece = new List<byte>();
            AddLengthDelimited(piece, 1, Encoding.UTF8.GetBytes(text));
            AddKey(piece, 2, wireType: 5);
            var scoreBytes = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(scoreBytes, score);
            piece.AddRange(scoreBytes);
            AddVarintField(piece, 3, (ulong)type);
            AddLengthDelimited(bytes, Pieces, piece.ToArray());
        }
        return bytes.ToArray();
    }

    /// <summary>Sets one varint field of trainer_spec (3 model_type, 24 treat_whitespace_as_suffix, 35 byte_fallback).</summary>
    public static byte[] WithTrainerField(byte[] model, int field, ulong value) =>
        WithMessage(model, TrainerSpec, spec => AddVarintField(spec, field, value));

    /// <summary>Sets one flag of normalizer_spec (3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces).</summary>
    public static byte[] WithNormalizerFlag(byte[] model, int field, bool value) =>
        WithMessage(model, NormalizerSpec, spec => AddVarintField(spec, field, value ? 1UL : 0UL));

    /// <summary>Replaces the precompiled charsmap (normalizer_spec field 2).</summary>
    public static byte[] WithCharsmap(byte[] model, byte[] charsmap) =>
        WithMessage(model, NormalizerSpec, spec => AddLengthDelimited(spec, 2, charsmap));

    private static byte[] WithMessage(byte[] model, int field, Action<List<byte>> writeBody)
    {
        var body = new List<byte>();
        writeBody(body);
        var bytes = new List<byte>(model);
        AddLengthDelimited(bytes, field, body.ToArray());
        return bytes.ToArray();
    }

    private static void AddLengthDelimited(List<byte> bytes, int field, byte[] value)
    {
        AddKey(bytes, field, wireType: 2);
        AddVarint(bytes, (ulong)value.Length);
        bytes.AddRange(value);
    }

    private static void AddVarintField(List<byte> bytes, int field, ulong value)
    {
        AddKey(bytes, field, wireType: 0);
        AddVarint(bytes, value);
    }

    private static void AddKey(List<byte> bytes, int field, int wireType) => AddVarint(bytes, ((ulong)field << 3) | (uint)wireType);

    private static void AddVarint(List<byte> bytes, ulong value)
    {
        for (; value >= 0x80; value >>= 7) bytes.Add((byte)(value | 0x80));
        bytes.Add((byte)value);
    }
}
