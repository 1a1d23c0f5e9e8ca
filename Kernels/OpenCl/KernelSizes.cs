namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// Work-group shapes and tile sizes, passed to the kernels as build-time constants. They are chosen for GPUs:
/// work groups of 64 or 256 items (multiples of NVIDIA's 32-wide warps and AMD's 64-wide wavefronts), tiles that
/// fit a few KB of local memory, consecutive items on consecutive addresses.
/// </summary>
internal static class KernelSizes
{
    /// <summary>Tiled products: TILE×TILE outputs per work group of TILE_THREADS² items, TILE_K deep per step.</summary>
    public const int Tile = 64, TileDepth = 16, TileThreads = 16;

    /// <summary>
    /// Skinny products (M ≤ RowsMaxM): each weight row is read by RowsLanes items (one NVIDIA warp, four float4
    /// loads of 128 bytes per step) of a work group that serves RowsPerGroup rows. RowsMaxM is 16 so that eight
    /// prompts with guidance stay a decoding step's product: above it the tiled kernel, built for prompts, takes over.
    /// </summary>
    public const int RowsLanes = 32, RowsPerGroup = 8, RowsMaxM = 16;

    /// <summary>Row reductions (norms, softmax): one work group per row.</summary>
    public const int ReduceThreads = 256;

    /// <summary>Elementwise kernels: work-group size; the range is rounded up to it.</summary>
    public const int ElementThreads = 256;

    public const int TransposeTile = 16;

    /// <summary>
    /// Attention: one work group per (batch, head, query); scores of AttentionChunk keys at a time in local memory;
    /// each item accumulates AttentionSlots output dimensions, so head_dim ≤ AttentionThreads · AttentionSlots.
    /// </summary>
    public const int AttentionThreads = 64, AttentionChunk = 256, AttentionSlots = 4;

    /// <summary>AppendAndAttend writes the new rows in the attention launch for at most this many queries (each group writes all of them).</summary>
    public const int AppendingMaxQueries = 8;

    /// <summary>Nearest codes: one work group per row.</summary>
    public const int CodesThreads = 64;

    /// <summary>Conv1d with at most this many output channels runs one item per output instead of in 64-channel tiles.</summary>
    public const int DirectConvolutionMaxChannels = 16;

    /// <summary>Rounds a count up to a multiple of the work-group size.</summary>
    public static long RoundUp(long count, int multiple) => (count + multiple - 1) / multiple * multiple;
}
