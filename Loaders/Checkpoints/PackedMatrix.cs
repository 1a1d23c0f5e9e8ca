using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Loaders.Checkpoints;

/// <summary>
/// A weight matrix [rows, columns] (a linear layer's [out, in]) in a low-precision <see cref="WeightType"/>, as
/// one byte array that backends upload unchanged. Every row is independent, so stacking matrices stacks rows.
/// <list type="bullet">
/// <item>f16, bf16: rows × columns 16-bit values, row-major.</item>
/// <item>q8: rows × columns signed bytes q, then rows × (columns / 32) float32 scales d; weight = d · q. Each
///   block of 32 consecutive inputs of a row has its own d = m / 127 for the block's value m of largest
///   magnitude (negative when m is), q = round(w / d).</item>
/// <item>q4: rows × columns / 2 bytes, 16 per block: byte i of a block holds input i in its low nibble and input
///   i + 16 in its high nibble, each as q + 8 with q in [−8, 7]; then the float32 scales as for q8. As ggml's
///   q4_0: d = m / −8 for the block's value m of largest magnitude, so that value is exact.</item>
/// </list>
/// A q8 or q4 matrix whose columns are not a multiple of 32 is stored as f16 (every real checkpoint's are).
/// </summary>
public sealed class PackedMatrix
{
    public const int BlockSize = 32;

    public WeightType Type { get; }
    public int Rows { get; }
    public int Columns { get; }
    public byte[] Data { get; }

    /// <summary>Where the float32 scales of q8 and q4 start in <see cref="Data"/>.</summary>
    public long ScaleOffset => ScalesAt(Type, Rows, Columns);

    /// <summary>Where the scales of a [rows, columns] matrix of this type start: its byte count for unscaled types.</summary>
    public static long ScalesAt(WeightType type, long rows, long columns) => type switch
    {
        WeightType.Q8 => rows * columns,
        WeightType.Q4 => rows * columns / 2,
        _ => type.ByteCount(rows, columns),
    };

    private PackedMatrix(WeightType type, int rows, int columns, byte[] data)
    {
        if (type == WeightType.F32) throw new ArgumentException("float32 matrices are not packed");
        if (data.LongLength != type.ByteCount(rows, columns))
            throw new ArgumentException($"{data.LongLength} bytes for a {type.Name()} matrix [{rows}, {columns}]");
        Type = type;
        Rows = rows;
        Columns = columns;
        Data = data;
    }

    /// <summary>The type a [*, columns] matrix gets when <paramref name="requested"/> is asked for.</summary>
    public static WeightType StoredType(WeightType requested, int columns) =>
        requested is WeightType.Q8 or WeightType.Q4 && columns % BlockSize != 0 ? WeightType.F16 : requested;

    /// <summary>16-bit values exactly as a checkpoint stores them (f16 or bf16), without a float32 round trip; the array is kept.</summary>
    public static PackedMatrix FromStored(WeightType type, int rows, int columns, byte[] stored) =>
        type is WeightType.F16 or WeightType.BF16 ? new(type, rows, columns, stored) : throw new ArgumentException($"{type.Name()} is not a stored 16-bit type");

    /// <summary>Converts or quantizes row-major float32 weights [rows, columns].</summary>
    public static PackedMatrix Pack(WeightType requested, ReadOnlySpan<float> weights, int rows, int columns)
    {
        if (weights.Length != (long)rows * columns) throw new ArgumentException($"{weights.Length} weights for [{rows}, {columns}]");
        var matrix = Allocate(requested, rows, columns);
        matrix.PackRows(0, weights);
        return matrix;
    }

    /// <summary>A matrix of the type <paramref name="requested"/> gives for [rows, columns], to be filled by <see cref="PackRows"/>.</summary>
    public static PackedMatrix Allocate(WeightType requested, int rows, int columns)
    {
        var type = StoredType(requested, columns);
        return new PackedMatrix(type, rows, columns, HugePages.NewArray<byte>(checked((int)type.ByteCount(rows, columns))));
    }

    /// <summary>Converts or quantizes whole rows of float32 weights into rows firstRow, firstRow + 1, ….</summary>
    public void PackRows(int firstRow, ReadOnlySpan<float> weights)
    {
        int count = weights.Length / Math.Max(1, Columns);
        if ((long)count * Columns != weights.Length || firstRow < 0 || firstRow + count > Rows)
            throw new ArgumentException($"{weights.Length} weights are not whole rows {firstRow}… of [{Rows}, {Columns}]");
        long first = (long)firstRow * Columns;
        switch (Type)
        {
            case WeightType.F16:
                TensorPrimitives.ConvertToHalf(weights, MemoryMarshal.Cast<byte, Half>(Data.AsSpan(checked((int)(2 * first)), weights.Length * 2)));
                break;
            case WeightType.BF16:
                var brain = MemoryMarshal.Cast<byte, ushort>(Data.AsSpan(checked((int)(2 * first)), weights.Length * 2));
                for (int i = 0; i < weights.Length; i++) brain[i] = ElementConversion.ToBFloat16(weights[i]);
                break;
            case WeightType.Q8 or WeightType.Q4:
                QuantizeRows(weights, firstRow, count);
                break;
            default:
                throw new InvalidOperationException($"{Type} is not a packed type");
        }
    }

    /// <summary>The matrices' rows one after another: [Σ rows, columns], all of one type.</summary>
    public static PackedMatrix Stack(IReadOnlyList<PackedMatrix> parts)
    {
        var type = parts[0].Type;
        int columns = parts[0].Columns;
        if (parts.Any(p => p.Type != type || p.Columns != columns)) throw new ArgumentException("stacked matrices differ in type or width");
        int rows = checked(parts.Sum(p => p.Rows));
        var data = HugePages.NewArray<byte>(checked((int)type.ByteCount(rows, columns)));
        long values = 0, scales = ScalesAt(type, rows, columns);
        foreach (var part in parts)
        {
            long partValues = part.ScaleOffset, partScales = part.Data.LongLength - partValues;
            part.Data.AsSpan(0, (int)partValues).CopyTo(data.AsSpan((int)values));
            part.Data.AsSpan((int)partValues).CopyTo(data.AsSpan((int)scales));
            values += partValues;
            scales += partScales;
        }
        return new PackedMatrix(type, rows, columns, data);
    }

    /// <summary>Rows quantized on all cores (loading a quantized model is mostly this): each task its own rows.</summary>
    private unsafe void QuantizeRows(ReadOnlySpan<float> weights, int firstRow, int count)
    {
        const int RowsPerTask = 16;
        fixed (float* source = weights)
        {
            var all = (nint)source;
            Parallel.For(0, (count + RowsPerTask - 1) / RowsPerTask, task =>
            {
                var rows = new ReadOnlySpan<float>((float*)all, count * Columns);
                for (int r = task * RowsPerTask; r < Math.Min(count, (task + 1) * RowsPerTask); r++)
                    QuantizeRow(rows.Slice(r * Columns, Columns), firstRow + r);
            });
        }
    }

    // Fully optimized from the first call: a model is quantized once, at load, long before tiered compilation would
    // promote these from their unoptimized first form, in which vector code runs many times slower.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void QuantizeRow(ReadOnlySpan<float> weights, int row)
    {
        int blocks = Columns / BlockSize;
        var scales = MemoryMarshal.Cast<byte, float>(Data.AsSpan(checked((int)ScaleOffset)));
        for (int b = 0; b < blocks; b++)
        {
            var block = weights.Slice(b * BlockSize, BlockSize);
            if (Type == WeightType.Q8)
            {
                float d = TensorPrimitives.MaxMagnitude(block) / 127f;
                QuantizeBlock(block, d == 0 ? 0 : 1 / d, -127, 127).CopyTo(MemoryMarshal.Cast<byte, sbyte>(Data.AsSpan(row * Columns + b * BlockSize, BlockSize)));
                scales[row * blocks + b] = d;
            }
            else
            {
                float d = block[TensorPrimitives.IndexOfMaxMagnitude(block)] / -8f;
                // q + 8 in [0, 15]: byte i takes input i in its low nibble and input i + 16 in its high one.
                var q = QuantizeBlock(block, d == 0 ? 0 : 1 / d, -8, 7).AsByte() + Vector256.Create((byte)8);
                var (low, high) = (q.GetLower(), q.GetUpper());
                (low | Vector128.ShiftLeft(high, 4)).CopyTo(Data.AsSpan(row * Columns / 2 + b * BlockSize / 2, BlockSize / 2));
                scales[row * blocks + b] = d;
            }
        }
    }

    /// <summary>round(w · inverse) (to even, as MathF.Round), clamped to [min, max], of a block's 32 weights in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<sbyte> QuantizeBlock(ReadOnlySpan<float> block, float inverse, int min, int max)
    {
        var (low, high, scale) = (Vector256.Create(min), Vector256.Create(max), Vector256.Create(inverse));
        var first = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[..8]) * scale)), low), high);
        var second = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[8..16]) * scale)), low), high);
        var third = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[16..24]) * scale)), low), high);
        var fourth = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[24..]) * scale)), low), high);
        return Vector256.Narrow(Vector256.Narrow(first, second), Vector256.Narrow(third, fourth));
    }

    /// <summary>Row <paramref name="row"/> back in float32: the reference every backend's kernels agree with.</summary>
    public void DecodeRow(int row, Span<float> destination) => DecodeRow(Type, Data, Rows, Columns, row, destination);

    /// <summary>The whole matrix back in float32, [rows, columns] row-major.</summary>
    public float[] Decode()
    {
        var decoded = new float[(long)Rows * Columns];
        for (int row = 0; row < Rows; row++) DecodeRow(row, decoded.AsSpan(row * Columns, Columns));
        return decoded;
    }

    /// <summary>Row <paramref name="row"/> of packed bytes <paramref name="data"/> of a [rows, columns] matrix.</summary>
    public static void DecodeRow(WeightType type, ReadOnlySpan<byte> data, int rows, int columns, int row, Span<float> destination)
    {
        var output = destination[..columns];
        switch (type)
        {
            case WeightType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(data.Slice(row * columns * 2, columns * 2)), output);
                break;
            case WeightType.BF16:
                var brain = MemoryMarshal.Cast<byte, ushort>(data.Slice(row * columns * 2, columns * 2));
                for (int i = 0; i < columns; i++) output[i] = BitConverter.Int32BitsToSingle(brain[i] << 16);
                break;
            case WeightType.Q8 or WeightType.Q4:
                int blocks = columns / BlockSize;
                var scales = MemoryMarshal.Cast<byte, float>(data.Slice((int)ScalesAt(type, rows, columns) + row * blocks * 4, blocks * 4));
                for (int b = 0; b < blocks; b++)
                    for (int i = 0; i < BlockSize; i++)
                    {
                        int q = type == WeightType.Q8
                            ? (sbyte)data[row * columns + b * BlockSize + i]
                            : (data[row * columns / 2 + b * BlockSize / 2 + i % (BlockSize / 2)] >> (i < BlockSize / 2 ? 0 : 4) & 15) - 8;
                        output[b * BlockSize + i] = scales[b] * q;
                    }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }
}
