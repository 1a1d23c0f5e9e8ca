using MusicGen.Engine.Tensors;

namespace MusicGen.Verification;

/// <summary>Tensors the engine produced while running a golden case, by reference name, copied to the host.</summary>
public sealed class ProducedTensors
{
    private readonly Dictionary<string, (int[] Shape, float[]? Floats, long[]? Ints)> _tensors = new(StringComparer.Ordinal);

    private readonly List<VerificationRow> _rows = new();

    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>Rows checked against references outside expected.safetensors (the tokenizer cases of case.json).</summary>
    public IReadOnlyList<VerificationRow> ExtraRows => _rows;

    public void AddRow(VerificationRow row) => _rows.Add(row);

    public void Add(string name, Tensor tensor) => Add(name, tensor.ShapeArray(), tensor.ToArray());

    public void Add(string name, int[] shape, float[] values) => _tensors[name] = (shape, values, null);

    public void Add(string name, int[] shape, long[] values) => _tensors[name] = (shape, null, values);

    public void Add(string name, int[] shape, ReadOnlySpan<int> values)
    {
        var widened = new long[values.Length];
        for (int i = 0; i < values.Length; i++) widened[i] = values[i];
        Add(name, shape, widened);
    }

    public bool TryGet(string name, out int[] shape, out float[]? floats, out long[]? ints)
    {
        bool found = _tensors.TryGetValue(name, out var entry);
        (shape, floats, ints) = found ? entry : (Array.Empty<int>(), null, null);
        return found;
    }
}
