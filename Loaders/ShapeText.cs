namespace MusicGen.Loaders;

/// <summary>Shape arithmetic and formatting shared by loaders and error messages.</summary>
public static class ShapeText
{
    /// <summary>The product of the dimensions; an <see cref="OverflowException"/> if it does not fit in 64 bits.</summary>
    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        if (shape.Contains(0)) return 0;
        long n = 1;
        foreach (int d in shape) n = checked(n * d);
        return n;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
