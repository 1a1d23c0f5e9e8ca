namespace MusicGen.Engine.Backends;

/// <summary>
/// What a linear product does with each of its results r = x·Wᵀ + b as it stores them (<see cref="IBackend.Linear"/>):
/// store r (the default), add r to what y holds (a residual added in the same launch), or store an activation of r
/// (GELU into a feed-forward's first product); or store r in planes (<see cref="Planes"/>). The GPU kernels apply it
/// where they store; the CPU applies it to each core's share of the columns once they are computed, giving exactly
/// what its separate operations (Add, Activation, the copies) give, which defines the result the kernels are tested
/// against.
/// </summary>
public readonly record struct LinearEpilogue
{
    private LinearEpilogue(int code, int planeWidth = 0) => (Code, PlaneWidth) = (code, planeWidth);

    /// <summary>The code the kernels take: 0 store, 1 accumulate, 2 + <see cref="ActivationKind"/> an activation.</summary>
    public int Code { get; }

    /// <summary>0, or the width W of <see cref="Planes"/>.</summary>
    public int PlaneWidth { get; }

    public static LinearEpilogue Store => default;

    /// <summary>
    /// y [N / W, M, W]: each block of W output columns stored as a plane of its own (the q, k and v of one product
    /// over stacked weights, each a contiguous [M, W]).
    /// </summary>
    public static LinearEpilogue Planes(int width) =>
        width > 0 ? new(0, width) : throw new ArgumentOutOfRangeException(nameof(width), $"plane width {width}");

    /// <summary>y += x·Wᵀ + b; x must not overlap y.</summary>
    public static LinearEpilogue Accumulate { get; } = new(1);

    /// <summary>y = activation(x·Wᵀ + b).</summary>
    public static LinearEpilogue Then(ActivationKind kind) => new(2 + (int)kind);

    public bool Accumulates => Code == 1;

    public ActivationKind? Activation => Code >= 2 ? (ActivationKind)(Code - 2) : null;

    public override string ToString() =>
        PlaneWidth > 0 ? $"planes of {PlaneWidth}" : Accumulates ? "accumulate" : Activation is { } kind ? kind.ToString() : "store";
}
