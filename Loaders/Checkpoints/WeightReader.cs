using System.Numerics.Tensors;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Loaders.Checkpoints;

/// <summary>
/// What a model sees of a checkpoint: float32 tensors by module path under a prefix, each checked against the
/// shape the model expects. A weight stored with weight normalization, in either spelling
/// (<c>weight_g</c>/<c>weight_v</c> or <c>parametrizations.weight.original0/original1</c>), is folded into the
/// plain weight here, so models only ever ask for <c>….weight</c>. Adapters are merged here too (see
/// <see cref="AdapterMerge"/>): a model reads the adapted tensors, and a matrix an adapter changes is converted to
/// its weight type only after the merge.
/// </summary>
public sealed class WeightReader
{
    private readonly WeightStore _store;
    private readonly string _prefix;
    private readonly AdapterMerge _adapters;

    public WeightReader(WeightStore store, string prefix = "", WeightType matrixType = WeightType.F32, AdapterMerge? adapters = null)
    {
        _store = store;
        _prefix = prefix;
        MatrixType = matrixType;
        _adapters = adapters ?? AdapterMerge.None;
    }

    /// <summary>The type <see cref="Matrix"/> gives the weight matrices of linear layers.</summary>
    public WeightType MatrixType { get; }

    public WeightReader Scope(string prefix) => new(_store, _prefix + prefix, MatrixType, _adapters);

    /// <summary>The same tensors, with linear layers' matrices in <paramref name="type"/>.</summary>
    public WeightReader WithMatrixType(WeightType type) => new(_store, _prefix, type, _adapters);

    public string FullName(string name) => _prefix + name;

    public bool Contains(string name) => _store.Contains(_prefix + name) || FindWeightNormParts(_prefix + name) is not null;

    /// <summary>The tensor <paramref name="name"/>, which must have exactly <paramref name="expectedShape"/>.</summary>
    public HostTensor Float(string name, params int[] expectedShape)
    {
        var tensor = Float(name);
        if (!ShapeText.Equal(tensor.Shape, expectedShape))
            throw new MusicGenException($"{_store.Folder}: tensor '{tensor.Name}' has shape {ShapeText.Format(tensor.Shape)}, expected {ShapeText.Format(expectedShape)}");
        return tensor;
    }

    /// <summary>The tensor <paramref name="name"/> with whatever shape it is stored in.</summary>
    public HostTensor Float(string name)
    {
        string full = _prefix + name;
        if (_store.Contains(full) && _store.QuantizedType is not null && QuantizedCheckpoint.IsPacked(_store.Entry(full)))
            throw QuantizedCheckpoint.WrongType(_store, full, WeightType.F32);
        HostTensor tensor;
        if (_store.Contains(full))
            tensor = new HostTensor(full, _store.Entry(full).Shape, Read(full));
        else
        {
            var parts = FindWeightNormParts(full)
                ?? throw _store.Missing(full, full.EndsWith(".weight", StringComparison.Ordinal) ? " (nor its weight-norm parts)" : "");
            var magnitude = new HostTensor(parts.Magnitude, _store.Entry(parts.Magnitude).Shape, Read(parts.Magnitude));
            var direction = new HostTensor(parts.Direction, _store.Entry(parts.Direction).Shape, Read(parts.Direction));
            tensor = new HostTensor(full, direction.Shape, WeightNorm.Fold(magnitude, direction));
        }
        _adapters.AddDeltas(full, tensor.Data);
        return tensor;
    }

    /// <summary>A stored tensor as float32, or the adapter's tensor that replaces it.</summary>
    private float[] Read(string fullName) => _adapters.TryReplace(fullName, out var replacement) ? replacement : _store.ReadFloat32(fullName);

    /// <summary>
    /// The matrix <paramref name="name"/> [rows, columns] in <see cref="MatrixType"/> (not f32): a float16 or
    /// bfloat16 tensor asked for in its own type, or the blocks of a quantized checkpoint (<see cref="QuantizedCheckpoint"/>),
    /// are taken as stored; anything else is read as float32 a few rows at a time and converted, so loading holds no
    /// float32 copy of the matrix. A matrix an adapter changes is merged in float32 first, then converted.
    /// </summary>
    public PackedMatrix Matrix(string name, int rows, int columns)
    {
        var matrix = ReadMatrix(name, rows, columns);
        _store.OnMatrixRead?.Invoke(_prefix + name, matrix);
        return matrix;
    }

    private PackedMatrix ReadMatrix(string name, int rows, int columns)
    {
        string full = _prefix + name;
        if (!_store.Contains(full) || _adapters.Changes(full)) return PackedMatrix.Pack(MatrixType, Float(name, rows, columns).Data, rows, columns);
        var entry = _store.Entry(full);
        if (_store.QuantizedType is not null && QuantizedCheckpoint.IsPacked(entry)) return QuantizedCheckpoint.Read(_store, full, MatrixType, rows, columns);
        if (!ShapeText.Equal(entry.Shape, [rows, columns]))
            throw new MusicGenException($"{_store.Folder}: tensor '{full}' has shape {ShapeText.Format(entry.Shape)}, expected {ShapeText.Format([rows, columns])}");
        var file = _store.FileOf(full);
        var type = PackedMatrix.StoredType(MatrixType, columns);
        if ((type, entry.DType) is (WeightType.F16, SafetensorsDType.F16) or (WeightType.BF16, SafetensorsDType.BF16))
            return PackedMatrix.FromStored(type, rows, columns, file.Bytes(entry));
        var matrix = PackedMatrix.Allocate(type, rows, columns);
        int chunkRows = Math.Clamp(ChunkElements / Math.Max(1, columns), 1, Math.Max(1, rows));
        var chunk = System.Buffers.ArrayPool<float>.Shared.Rent(chunkRows * columns);
        try
        {
            for (int row = 0; row < rows; row += chunkRows)
            {
                var part = chunk.AsSpan(0, Math.Min(chunkRows, rows - row) * columns);
                file.ReadFloat32(entry, (long)row * columns, part);
                matrix.PackRows(row, part);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(chunk);
        }
        return matrix;
    }

    /// <summary>Weights converted per read while packing a matrix (1 MiB of float32).</summary>
    private const int ChunkElements = 1 << 18;

    private sealed record WeightNormParts(string Magnitude, string Direction);

    private WeightNormParts? FindWeightNormParts(string fullName)
    {
        const string suffix = ".weight";
        if (!fullName.EndsWith(suffix, StringComparison.Ordinal)) return null;
        string module = fullName[..^suffix.Length];
        foreach (var (g, v) in new[] { (".weight_g", ".weight_v"), (".parametrizations.weight.original0", ".parametrizations.weight.original1") })
        {
            bool hasG = _store.Contains(module + g), hasV = _store.Contains(module + v);
            if (hasG && hasV) return new WeightNormParts(module + g, module + v);
            if (hasG != hasV)
                throw new MusicGenException($"{_store.Folder}: '{module + (hasG ? g : v)}' is stored without its partner '{module + (hasG ? v : g)}'");
        }
        return null;
    }
}

/// <summary>Weight normalization, w = g · v / ‖v‖, with the norm over every dimension but the one g spans.</summary>
public static class WeightNorm
{
    /// <summary>
    /// w, written over v's elements and returned: v is read from the checkpoint for this alone, and a new array the
    /// size of the codec's weights cost more in fresh memory than the arithmetic (README, Speed).
    /// </summary>
    public static float[] Fold(HostTensor g, HostTensor v)
    {
        int rank = v.Shape.Length;
        if (g.Shape.Length != rank && g.Data.Length != 1)
            throw new MusicGenException($"weight norm: '{g.Name}' {ShapeText.Format(g.Shape)} does not match '{v.Name}' {ShapeText.Format(v.Shape)}");

        // torch's weight_norm(dim=d) stores g with v's size at d and 1 elsewhere; conv weights use d = 0 for
        // both Conv1d [out, in, k] and ConvTranspose1d [in, out, k], so the norm runs over different channels.
        int axis = -1;
        for (int d = 0; d < g.Shape.Length; d++)
        {
            if (g.Shape[d] == 1) continue;
            if (axis >= 0 || g.Shape[d] != v.Shape[d])
                throw new MusicGenException($"weight norm: '{g.Name}' {ShapeText.Format(g.Shape)} does not match '{v.Name}' {ShapeText.Format(v.Shape)}");
            axis = d;
        }

        int groups = axis < 0 ? 1 : v.Shape[axis];
        int inner = axis < 0 ? v.Data.Length : 1;
        for (int d = axis + 1; d < rank && axis >= 0; d++) inner *= v.Shape[d];
        // The elements come in runs of `inner` that share a group, run r in group r % groups: walked run by run, in
        // the order element by element would (the same sums), without a division per element (the codec's
        // convolutions took most of a quantized checkpoint's load time that way).
        int runs = inner == 0 ? 0 : v.Data.Length / inner;
        var sumSquares = new double[groups];
        for (int r = 0, i = 0; r < runs; r++)
        {
            ref double sum = ref sumSquares[r % groups];
            for (int end = i + inner; i < end; i++) sum += (double)v.Data[i] * v.Data[i];
        }
        var scale = new float[groups];
        for (int k = 0; k < groups; k++) scale[k] = (float)(g.Data[k] / Math.Sqrt(sumSquares[k]));

        var weight = v.Data;
        for (int r = 0; r < runs; r++)
        {
            var run = weight.AsSpan(r * inner, inner);
            TensorPrimitives.Multiply(run, scale[r % groups], run);
        }
        return weight;
    }
}
