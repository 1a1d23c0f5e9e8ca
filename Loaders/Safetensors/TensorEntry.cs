namespace MusicGen.Loaders.Safetensors;

/// <summary>One tensor of a safetensors header: its type, shape and byte range within the data section.</summary>
public sealed record TensorEntry(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)
{
    public long ElementCount => ShapeText.ElementCount(Shape);
    public long ByteCount => End - Begin;
}
