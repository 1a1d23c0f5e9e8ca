using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Loaders.Adapters;

/// <summary>
/// Adapters merged into one checkpoint's tensors as the model reads them, in float32 and before any conversion to a
/// low-precision weight type, as PEFT's <c>merge_and_unload</c> merges them (peft/tuners/lora/layer.py,
/// <c>get_delta_weight</c>): a LoRA layer adds <c>scaling · B·A</c> to a linear layer's weight and
/// <c>scaling · (B·A)ᵀ</c> to an embedding's, adapter after adapter; a whole tensor replaces the checkpoint's.
/// Built once per checkpoint, it checks every target against the checkpoint (present, same shape, not changed by
/// two adapters in ways that do not add up) before anything is loaded; once the model is loaded,
/// <see cref="ThrowIfUnapplied"/> refuses an adapter tensor that changed nothing the model reads.
/// </summary>
public sealed class AdapterMerge
{
    /// <summary>Rows of a delta one worker computes at a time.</summary>
    private const int RowsPerTask = 16;

    private readonly Dictionary<string, List<(LoraAdapter Adapter, LoraLayer Layer)>> _deltas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (LoraAdapter Adapter, string Tensor)> _replacements = new(StringComparer.Ordinal);
    private readonly HashSet<string> _applied = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>No adapters: every tensor as stored.</summary>
    public static AdapterMerge None { get; } = new(null, []);

    public IReadOnlyList<LoraAdapter> Adapters { get; }

    /// <exception cref="AdapterException">A target the checkpoint lacks, a shape that does not fit, two adapters in conflict.</exception>
    public AdapterMerge(WeightStore? store, IReadOnlyList<LoraAdapter> adapters)
    {
        Adapters = adapters;
        foreach (var adapter in adapters)
            foreach (var (tensor, target) in adapter.Replacements)
            {
                var shape = adapter.Weights.Entry(tensor).Shape;
                var stored = StoredShape(store!, adapter, tensor, target);
                if (!ShapeText.Equal(shape, stored))
                    throw new AdapterException($"adapter {adapter}: '{tensor}' is {ShapeText.Format(shape)}, but the checkpoint's '{target}' is {ShapeText.Format(stored)}");
                if (_replacements.TryGetValue(target, out var other))
                    throw new AdapterException($"adapter {adapter}: '{tensor}' replaces '{target}', which adapter {other.Adapter} replaces too");
                _replacements[target] = (adapter, tensor);
            }
        foreach (var adapter in adapters)
            foreach (var layer in adapter.Layers)
            {
                if (_replacements.TryGetValue(layer.Weight, out var whole))
                    throw new AdapterException($"adapter {adapter}: '{layer.A}' adapts '{layer.Weight}', which adapter {whole.Adapter} replaces whole");
                var stored = StoredShape(store!, adapter, layer.A, layer.Weight);
                var delta = DeltaShape(adapter, layer);
                if (!ShapeText.Equal(delta, stored))
                    throw new AdapterException($"adapter {adapter}: '{layer.A}' and '{layer.B}' make a {ShapeText.Format(delta)} delta, but the checkpoint's '{layer.Weight}' is {ShapeText.Format(stored)}");
                if (!_deltas.TryGetValue(layer.Weight, out var list)) _deltas[layer.Weight] = list = [];
                list.Add((adapter, layer));
            }
    }

    /// <summary>Whether the tensor the model reads as <paramref name="name"/> differs from the checkpoint's.</summary>
    public bool Changes(string name) => _deltas.ContainsKey(name) || _replacements.ContainsKey(name);

    /// <summary>The adapter's whole tensor in place of the stored one named <paramref name="name"/>, if an adapter replaces it.</summary>
    public bool TryReplace(string name, [NotNullWhen(true)] out float[]? data)
    {
        data = null;
        if (!_replacements.TryGetValue(name, out var replacement)) return false;
        data = ReadFinite(replacement.Adapter, replacement.Tensor);
        MarkApplied(name);
        return true;
    }

    /// <summary>Adds every adapter's delta for the weight <paramref name="name"/> to it (row-major, the checkpoint's shape).</summary>
    public void AddDeltas(string name, float[] weight)
    {
        if (!_deltas.TryGetValue(name, out var layers)) return;
        foreach (var (adapter, layer) in layers) AddDelta(adapter, layer, weight);
        MarkApplied(name);
    }

    /// <summary>Refuses adapters with a tensor that changed nothing the loaded model read.</summary>
    public void ThrowIfUnapplied()
    {
        lock (_lock)
        {
            foreach (var (target, (adapter, tensor)) in _replacements)
                if (!_applied.Contains(target))
                    throw new AdapterException($"adapter {adapter}: '{tensor}' replaces '{target}', which the model does not use");
            foreach (var (weight, layers) in _deltas)
                if (!_applied.Contains(weight))
                    throw new AdapterException($"adapter {layers[0].Adapter}: '{layers[0].Layer.A}' adapts '{weight}', which the model does not use");
        }
    }

    private void MarkApplied(string name)
    {
        lock (_lock) _applied.Add(name);
    }

    private static int[] StoredShape(WeightStore store, LoraAdapter adapter, string tensor, string target)
    {
        if (store.Contains(target)) return store.Entry(target).Shape;
        bool convolution = target.EndsWith(".weight", StringComparison.Ordinal)
            && store.Names.Any(n => n.StartsWith(target[..^".weight".Length] + ".", StringComparison.Ordinal) && n != target);
        throw new AdapterException(convolution
            ? $"adapter {adapter}: '{tensor}' targets '{target}', a weight-normalized convolution; LoRA on convolutions is not supported"
            : $"adapter {adapter}: '{tensor}' targets '{target}', which the checkpoint does not have");
    }

    private static int[] DeltaShape(LoraAdapter adapter, LoraLayer layer)
    {
        int[] a = adapter.Weights.Entry(layer.A).Shape, b = adapter.Weights.Entry(layer.B).Shape;
        return layer.Kind == LoraLayerKind.Linear ? [b[0], a[1]] : [a[1], b[0]];
    }

    /// <summary>
    /// weight += scaling · B·A (linear, [out, in]) or scaling · (B·A)ᵀ (embedding, [num_embeddings, dim]): row i of
    /// the delta is the sum over k of coefficient(i, k) · basis row k, with B's rows and A's rows for a linear layer
    /// and A's columns and B's columns for an embedding. The product is rounded to float32 before it is scaled and
    /// added, as PEFT computes it in float32.
    /// </summary>
    private static void AddDelta(LoraAdapter adapter, LoraLayer layer, float[] weight)
    {
        float[] a = ReadFinite(adapter, layer.A), b = ReadFinite(adapter, layer.B);
        int rank = layer.Rank;
        int[] shape = DeltaShape(adapter, layer);
        int rows = shape[0], columns = shape[1];
        float[] basis = layer.Kind == LoraLayerKind.Linear ? a : Transpose(b, columns, rank);
        Func<int, int, float> coefficient = layer.Kind == LoraLayerKind.Linear
            ? (row, k) => b[row * rank + k]
            : (row, k) => a[k * rows + row];
        float scaling = (float)layer.Scaling;
        Parallel.For(0, (rows + RowsPerTask - 1) / RowsPerTask, () => new float[columns], (task, _, sum) =>
        {
            for (int row = task * RowsPerTask; row < Math.Min(rows, (task + 1) * RowsPerTask); row++)
            {
                sum.AsSpan().Clear();
                for (int k = 0; k < rank; k++)
                    TensorPrimitives.MultiplyAdd(basis.AsSpan(k * columns, columns), coefficient(row, k), sum, sum);
                var target = weight.AsSpan(row * columns, columns);
                TensorPrimitives.MultiplyAdd(sum, scaling, target, target);
            }
            return sum;
        }, _ => { });
    }

    /// <summary>[rows, columns] to [columns, rows].</summary>
    private static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = matrix[r * columns + c];
        return result;
    }

    private static float[] ReadFinite(LoraAdapter adapter, string tensor)
    {
        var values = adapter.Weights.ReadFloat32(tensor);
        if (values.Any(v => !float.IsFinite(v)))
            throw new AdapterException($"adapter {adapter}: '{tensor}' holds NaN or infinite values");
        return values;
    }
}
