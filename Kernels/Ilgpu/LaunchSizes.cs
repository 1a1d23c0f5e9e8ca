using ILGPU.Runtime;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// Group shapes chosen at run time from the accelerator's limits: GPU-sized groups (256 threads, 16 × 16 tiles,
/// 64 threads per attention query) where the device allows, smaller on ILGPU's CPU emulator. Shared-memory arrays
/// are sized for the largest shapes (<see cref="MaxGroup"/>, <see cref="MaxTile"/>) and used in part by smaller ones.
/// </summary>
internal readonly record struct LaunchSizes(int Group, int Attention, int TileThreads, int WarpSize)
{
    public const int MaxGroup = 256;
    /// <summary>Reduction depth of one tile step of the tiled products.</summary>
    public const int TileDepth = 16;
    /// <summary>Each thread of a tiled product computes 2 × 2 outputs: a tile is twice the thread block's side.</summary>
    public const int MaxTile = 2 * 16;
    /// <summary>Keys scored per step of the attention kernel, and the largest head dimension it accumulates.</summary>
    public const int AttentionChunk = 256, MaxHeadDim = 256;
    /// <summary>AppendAndAttend writes the new rows in the attention launch for at most this many queries (each group writes all of them).</summary>
    public const int AppendingMaxQueries = 8;
    /// <summary>Rows of x each skinny-product thread accumulates while streaming a weight row.</summary>
    public const int RowsPerPass = 4;
    /// <summary>A product with at most this many rows (a decoding step's) streams the weights instead of tiling.</summary>
    public const int SkinnyMaxRows = 16;
    /// <summary>Conv1d with at most this many output channels computes one output per thread instead of in tiles.</summary>
    public const int DirectConvolutionMaxChannels = 16;

    public int Tile => 2 * TileThreads;

    public static LaunchSizes For(Accelerator accelerator)
    {
        int max = FloorPowerOfTwo(Math.Min(MaxGroup, accelerator.MaxNumThreadsPerGroup));
        int tileThreads = 1;
        while (tileThreads < 16 && 4 * tileThreads * tileThreads <= max) tileThreads *= 2;
        return new LaunchSizes(max, Math.Min(64, max), tileThreads, Math.Min(accelerator.WarpSize, max));
    }

    private static int FloorPowerOfTwo(int value)
    {
        int result = 1;
        while (result * 2 <= value) result *= 2;
        return result;
    }
}
