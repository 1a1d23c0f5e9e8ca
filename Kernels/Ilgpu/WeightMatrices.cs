using ILGPU;
using Half = ILGPU.Half;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>Four consecutive weights of a row, as float32.</summary>
internal struct FourWeights
{
    public float W0, W1, W2, W3;
}

/// <summary>
/// A linear layer's weight matrix w[N, K] as the product kernels read it: stored as uploaded (float32 or the packed
/// byte layouts of PackedMatrix) and decoded to float32 one value, or four, at a time as the kernel streams it.
/// The implementations hold K as a long so that they have no padding: inside a kernel argument
/// (<see cref="LinearOperands{TWeights}"/>) ILGPU can lay a struct out without the trailing padding .NET gives it,
/// depending on the kernels it compiled before, and the GPU then reads every field after it 4 bytes early (IlgpuPtxTests).
/// </summary>
internal interface IWeightMatrix
{
    /// <summary>w[row, column].</summary>
    float Load(int row, int column);

    /// <summary>w[row, column … column + 3], with column a multiple of 4 and column + 3 &lt; K.</summary>
    FourWeights Load4(int row, int column);
}

internal readonly struct Float32Weights(ArrayView<float> values, long columns) : IWeightMatrix
{
    private readonly ArrayView<float> _values = values;
    private readonly long _columns = columns;

    public float Load(int row, int column) => _values[(long)row * _columns + column];

    public FourWeights Load4(int row, int column)
    {
        long at = (long)row * _columns + column;
        return new FourWeights { W0 = _values[at], W1 = _values[at + 1], W2 = _values[at + 2], W3 = _values[at + 3] };
    }
}

internal readonly struct Float16Weights(ArrayView<Half> values, long columns) : IWeightMatrix
{
    private readonly ArrayView<Half> _values = values;
    private readonly long _columns = columns;

    public float Load(int row, int column) => (float)_values[(long)row * _columns + column];

    public FourWeights Load4(int row, int column)
    {
        long at = (long)row * _columns + column;
        return new FourWeights { W0 = (float)_values[at], W1 = (float)_values[at + 1], W2 = (float)_values[at + 2], W3 = (float)_values[at + 3] };
    }
}

/// <summary>bfloat16: the high half of a float32's bits.</summary>
internal readonly struct BFloat16Weights(ArrayView<ushort> values, long columns) : IWeightMatrix
{
    private readonly ArrayView<ushort> _values = values;
    private readonly long _columns = columns;

    public float Load(int row, int column) => Widen(_values[(long)row * _columns + column]);

    public FourWeights Load4(int row, int column)
    {
        long at = (long)row * _columns + column;
        return new FourWeights { W0 = Widen(_values[at]), W1 = Widen(_values[at + 1]), W2 = Widen(_values[at + 2]), W3 = Widen(_values[at + 3]) };
    }

    private static float Widen(ushort value) => Interop.IntAsFloat((uint)value << 16);
}

/// <summary>
/// q8: signed bytes, four to a 32-bit word (little-endian, the first weight in the low byte), and one float32 scale
/// per block of 32 weights of a row; K is a multiple of 32, so block b of row r is scale r·K/32 + b.
/// </summary>
internal readonly struct Q8Weights(ArrayView<int> words, ArrayView<float> scales, long columns) : IWeightMatrix
{
    private readonly ArrayView<int> _words = words;
    private readonly ArrayView<float> _scales = scales;
    private readonly long _columns = columns;

    public float Load(int row, int column)
    {
        long at = (long)row * _columns + column;
        int shift = 24 - 8 * (int)(at & 3);
        return (_words[at >> 2] << shift >> 24) * _scales[at >> 5];
    }

    public FourWeights Load4(int row, int column)
    {
        long at = (long)row * _columns + column;
        int word = _words[at >> 2];
        float scale = _scales[at >> 5];
        return new FourWeights { W0 = (word << 24 >> 24) * scale, W1 = (word << 16 >> 24) * scale, W2 = (word << 8 >> 24) * scale, W3 = (word >> 24) * scale };
    }
}

/// <summary>
/// q4: 16 bytes per block of 32 weights, byte i holding weight i in its low nibble and weight i + 16 in its high
/// one, each as q + 8; read as 32-bit words (little-endian), with one float32 scale per block as for q8.
/// </summary>
internal readonly struct Q4Weights(ArrayView<int> words, ArrayView<float> scales, long columns) : IWeightMatrix
{
    private readonly ArrayView<int> _words = words;
    private readonly ArrayView<float> _scales = scales;
    private readonly long _columns = columns;

    public float Load(int row, int column)
    {
        long at = (long)row * _columns + column;
        int inBlock = (int)(at & 31);
        long byteIndex = (at >> 5) * 16 + (inBlock & 15);
        int shift = 8 * (int)(byteIndex & 3) + (inBlock < 16 ? 0 : 4);
        return ((_words[byteIndex >> 2] >> shift & 15) - 8) * _scales[at >> 5];
    }

    public FourWeights Load4(int row, int column)
    {
        // Four consecutive weights of a block sit in the same nibble of four consecutive bytes: one word.
        long at = (long)row * _columns + column;
        int inBlock = (int)(at & 31);
        int word = _words[((at >> 5) * 16 + (inBlock & 15)) >> 2] >> (inBlock < 16 ? 0 : 4);
        float scale = _scales[at >> 5];
        return new FourWeights
        {
            W0 = ((word & 15) - 8) * scale, W1 = ((word >> 8 & 15) - 8) * scale,
            W2 = ((word >> 16 & 15) - 8) * scale, W3 = ((word >> 24 & 15) - 8) * scale,
        };
    }
}
