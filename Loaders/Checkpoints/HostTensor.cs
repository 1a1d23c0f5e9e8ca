namespace MusicGen.Loaders.Checkpoints;

/// <summary>A named float32 tensor in host memory, as read from a checkpoint (after any weight-norm folding).</summary>
public sealed record HostTensor(string Name, int[] Shape, float[] Data)
{
    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    public override string ToString() => $"{Name} {ShapeText.Format(Shape)}";
}
