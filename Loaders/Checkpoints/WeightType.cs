namespace MusicGen.Loaders.Checkpoints;

/// <summary>
/// How the weight matrices of the linear layers are held in memory (see <see cref="PackedMatrix"/> for the byte
/// layouts). Everything else (activations, norms, biases, embeddings, the codec) stays float32; the decoder's
/// key/value cache is float16 beside any type but <see cref="F32"/>.
/// </summary>
public enum WeightType
{
    /// <summary>float32, 4 bytes per weight: exact.</summary>
    F32,
    /// <summary>IEEE float16, 2 bytes per weight.</summary>
    F16,
    /// <summary>bfloat16 (the top half of a float32), 2 bytes per weight.</summary>
    BF16,
    /// <summary>8-bit integers with a float32 scale per block of 32 inputs: 1.125 bytes per weight.</summary>
    Q8,
    /// <summary>4-bit integers with a float32 scale per block of 32 inputs: 0.625 bytes per weight.</summary>
    Q4,
}

/// <summary>The command-line names of <see cref="WeightType"/> and their sizes.</summary>
public static class WeightTypes
{
    public static IReadOnlyList<WeightType> All { get; } = [WeightType.F32, WeightType.F16, WeightType.BF16, WeightType.Q8, WeightType.Q4];

    /// <summary>The name as the <c>--weights</c> option spells it: f32, f16, bf16, q8, q4.</summary>
    public static string Name(this WeightType type) => type.ToString().ToLowerInvariant();

    public static WeightType Parse(string text)
    {
        foreach (var type in All)
            if (type.Name() == text.ToLowerInvariant()) return type;
        throw new MusicGenException($"unknown weight type '{text}'; expected one of {string.Join(", ", All.Select(t => t.Name()))}");
    }

    /// <summary>Bytes a [rows, columns] matrix of this type occupies (columns a multiple of the block for q8, q4).</summary>
    public static long ByteCount(this WeightType type, long rows, long columns) => type switch
    {
        WeightType.F32 => rows * columns * 4,
        WeightType.F16 or WeightType.BF16 => rows * columns * 2,
        WeightType.Q8 => rows * columns + rows * (columns / PackedMatrix.BlockSize) * 4,
        WeightType.Q4 => rows * columns / 2 + rows * (columns / PackedMatrix.BlockSize) * 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
