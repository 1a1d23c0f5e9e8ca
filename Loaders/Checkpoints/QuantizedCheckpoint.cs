using MusicGen.Loaders.Hub;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Loaders.Checkpoints;

/// <summary>
/// A checkpoint written by <c>musicgen quantize</c>: a folder in the Hub layout (the configs and tokenizer copied, one
/// model.safetensors) whose linear layers' matrices hold the bytes <see cref="PackedMatrix"/> would make of them at
/// load, so that loading reads them instead of converting. A q8 or q4 matrix is two tensors: <c>NAME</c> with the
/// integers (q8: I8 [rows, columns]; q4: U8 [rows, columns / 2], the nibbles as PackedMatrix packs them) and
/// <c>NAME.scales</c> (F32 [rows, columns / 32], one per block of 32 inputs of a row); an f16 or bf16 matrix (and
/// a q8 or q4 one whose columns are not whole blocks) is an F16 or BF16 tensor as on the Hub. Every other tensor
/// (embeddings, norms, biases, the codec) is copied as stored. The safetensors <c>__metadata__</c> names the type
/// (<see cref="TypeKey"/>) and the block format (<see cref="FormatKey"/>). Packed blocks are read only as their
/// own type: asked for another, loading refuses, naming the type to ask for.
/// </summary>
public static class QuantizedCheckpoint
{
    /// <summary>Metadata key naming the weight type the checkpoint was written for (f16, bf16, q8, q4).</summary>
    public const string TypeKey = "musicgen.weights";

    /// <summary>Metadata key naming the block format, which a reader must know: <see cref="BlockFormat"/>.</summary>
    public const string FormatKey = "musicgen.block_format";

    /// <summary>The block format this version writes and reads.</summary>
    public const string BlockFormat = "rows of blocks of 32 inputs; q8: I8 [rows, columns]; q4: U8 [rows, columns / 2], "
        + "byte i of a block holding q + 8 of input i in its low nibble and of input i + 16 in its high one; "
        + "NAME.scales: F32 [rows, columns / 32]; weight = scale × q";

    /// <summary>The types <c>musicgen quantize</c> writes.</summary>
    public static IReadOnlyList<WeightType> Types { get; } = [WeightType.F16, WeightType.BF16, WeightType.Q8, WeightType.Q4];

    private const string ScalesSuffix = ".scales";

    public static string ScalesName(string name) => name + ScalesSuffix;

    /// <summary>Whether a tensor holds packed blocks' integers (rather than floats).</summary>
    public static bool IsPacked(TensorEntry entry) => entry.DType is SafetensorsDType.I8 or SafetensorsDType.U8;

    /// <summary>
    /// The type a safetensors file's metadata says it was quantized to, or null for a plain checkpoint; an unknown
    /// type or block format is an error.
    /// </summary>
    public static WeightType? TypeOf(SafetensorsFile file)
    {
        if (!file.Metadata.TryGetValue(TypeKey, out string? name)) return null;
        if (!file.Metadata.TryGetValue(FormatKey, out string? format) || format != BlockFormat)
            throw new MusicGenException($"{file.Path}: quantized with a block format this version does not read ('{FormatKey}' is '{format ?? "missing"}'); quantize the original checkpoint again");
        foreach (var type in Types)
            if (type.Name() == name) return type;
        throw new MusicGenException($"{file.Path}: metadata '{TypeKey}' is '{name}', not one of {string.Join(", ", Types.Select(t => t.Name()))}");
    }

    /// <summary>
    /// The packed matrix <paramref name="name"/> [rows, columns] of a quantized checkpoint's store, its bytes read as
    /// they are; <paramref name="requested"/> must be the type it was written in.
    /// </summary>
    public static PackedMatrix Read(WeightStore store, string name, WeightType requested, int rows, int columns)
    {
        var type = store.QuantizedType is WeightType.Q8 or WeightType.Q4 ? store.QuantizedType.Value
            : throw new MusicGenException($"{store.Folder}: tensor '{name}' holds {store.Entry(name).DType} integers, but the checkpoint is not quantized to q8 or q4");
        if (requested != type) throw WrongType(store, name, requested);
        if (columns % PackedMatrix.BlockSize != 0)
            throw new MusicGenException($"{store.Folder}: tensor '{name}' is packed in blocks of {PackedMatrix.BlockSize}, but its {columns} columns are not whole blocks");
        var (dtype, width) = type == WeightType.Q8 ? (SafetensorsDType.I8, columns) : (SafetensorsDType.U8, columns / 2);
        var values = Expect(store, name, dtype, [rows, width]);
        string scalesName = ScalesName(name);
        if (!store.Contains(scalesName)) throw new MusicGenException($"{store.Folder}: tensor '{name}' holds {type.Name()} blocks but '{scalesName}' is missing");
        var scales = Expect(store, scalesName, SafetensorsDType.F32, [rows, columns / PackedMatrix.BlockSize]);
        var matrix = PackedMatrix.Allocate(type, rows, columns);
        int scaleOffset = checked((int)matrix.ScaleOffset);
        store.FileOf(name).Read(values, matrix.Data.AsSpan(0, scaleOffset));
        store.FileOf(scalesName).Read(scales, matrix.Data.AsSpan(scaleOffset));
        return matrix;
    }

    /// <summary>The refusal of a packed tensor asked for in another type than its own (float32 included).</summary>
    public static MusicGenException WrongType(WeightStore store, string name, WeightType requested) =>
        new($"{store.Folder}: tensor '{name}' holds {store.QuantizedType?.Name()} blocks written by musicgen quantize, which load only as "
            + $"--weights {store.QuantizedType?.Name()}, not {requested.Name()}; quantize the original checkpoint to get another type");

    private static TensorEntry Expect(WeightStore store, string name, SafetensorsDType dtype, int[] shape)
    {
        var entry = store.Entry(name);
        if (entry.DType != dtype || !ShapeText.Equal(entry.Shape, shape))
            throw new MusicGenException($"{store.Folder}: tensor '{name}' is {entry.DType} {ShapeText.Format(entry.Shape)}, expected {dtype} {ShapeText.Format(shape)}");
        return entry;
    }

    /// <summary>
    /// Writes the quantized checkpoint of <paramref name="checkpoint"/> into the new folder <paramref name="output"/>:
    /// its config and tokenizer files copied, and one model.safetensors with <paramref name="matrices"/> (by tensor
    /// name, as the loader packed them in <paramref name="type"/>) in their packed form and every other tensor as
    /// stored. The files appear together or not at all; returns the bytes of model.safetensors.
    /// </summary>
    public static long Write(CheckpointFolder checkpoint, WeightType type, IReadOnlyDictionary<string, PackedMatrix> matrices, string output)
    {
        CheckOutput(type, output);
        var store = checkpoint.Weights;
        var writer = new SafetensorsWriter().AddMetadata(TypeKey, type.Name()).AddMetadata(FormatKey, BlockFormat);
        foreach (string name in store.Names.Order(StringComparer.Ordinal))
        {
            if (matrices.TryGetValue(name, out var matrix)) AddPacked(writer, name, matrix);
            else if (!(name.EndsWith(ScalesSuffix, StringComparison.Ordinal) && matrices.ContainsKey(name[..^ScalesSuffix.Length])))
            {
                // As stored, read when the file is written (one tensor at a time, not the whole checkpoint at once).
                var (entry, file) = (store.Entry(name), store.FileOf(name));
                writer.Add(name, entry.DType, entry.Shape, stream => stream.Write(file.Bytes(entry)));
            }
        }
        bool created = !Directory.Exists(output);
        Directory.CreateDirectory(output);
        try
        {
            using var group = AtomicFile.BeginGroup();
            foreach (string file in RepositoryFiles.Checkpoint.Optional.Prepend(RepositoryFiles.Checkpoint.Marker))
                if (checkpoint.FindFile(file) is string source) AtomicFile.Write(Path.Combine(output, file), stream => stream.Write(File.ReadAllBytes(source)));
            string weights = Path.Combine(output, WeightStore.SingleFileName);
            writer.Save(weights);
            group.Commit();
            return new FileInfo(weights).Length;
        }
        catch
        {
            if (created) Directory.Delete(output, recursive: true);
            throw;
        }
    }

    /// <summary>Refuses, before any work, a type quantize does not write or an output that is not a new or empty folder.</summary>
    public static void CheckOutput(WeightType type, string output)
    {
        if (!Types.Contains(type)) throw new MusicGenException($"musicgen quantize writes {string.Join(", ", Types.Select(t => t.Name()))}, not {type.Name()}");
        if (string.IsNullOrWhiteSpace(output) || output.Contains('\0')) throw new MusicGenException("--out: give the name of a new folder");
        if (File.Exists(output) || Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new MusicGenException($"{output}: exists; the quantized checkpoint goes into a new or empty folder");
        string parent = Path.GetDirectoryName(Path.GetFullPath(output)) ?? "";
        if (!Directory.Exists(parent)) throw new MusicGenException($"{output}: the folder {parent} does not exist");
    }

    private static void AddPacked(SafetensorsWriter writer, string name, PackedMatrix matrix)
    {
        int rows = matrix.Rows, columns = matrix.Columns;
        switch (matrix.Type)
        {
            case WeightType.Q8 or WeightType.Q4:
                int scaleOffset = checked((int)matrix.ScaleOffset);
                var (dtype, width) = matrix.Type == WeightType.Q8 ? (SafetensorsDType.I8, columns) : (SafetensorsDType.U8, columns / 2);
                writer.Add(name, dtype, [rows, width], stream => stream.Write(matrix.Data, 0, scaleOffset));
                writer.Add(ScalesName(name), SafetensorsDType.F32, [rows, columns / PackedMatrix.BlockSize], stream => stream.Write(matrix.Data, scaleOffset, matrix.Data.Length - scaleOffset));
                break;
            case WeightType.F16:
                writer.Add(name, SafetensorsDType.F16, [rows, columns], stream => stream.Write(matrix.Data));
                break;
            case WeightType.BF16:
                writer.Add(name, SafetensorsDType.BF16, [rows, columns], stream => stream.Write(matrix.Data));
                break;
            default:
                throw new ArgumentException($"tensor '{name}' is not packed ({matrix.Type.Name()})");
        }
    }
}
