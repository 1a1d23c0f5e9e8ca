using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// The decoder's intermediate tensors for one forward pass of R = N·T rows, allocated once and reused by every
/// layer and every decoding step of the same size (views included, so a step allocates nothing).
/// </summary>
public sealed class DecoderWorkspace : IDisposable
{
    public int Batch { get; }
    public int Tokens { get; }
    public int Rows => Batch * Tokens;
    public Tensor Hidden { get; }    // [R, D] the residual stream
    public Tensor Normed { get; }    // [R, D]
    public Tensor QueryKeyValue { get; } // [3, R, D] the planes of self-attention's stacked projection
    public Tensor Query { get; }     // [R, D] plane 0
    public Tensor Key { get; }       // [R, D] plane 1
    public Tensor Value { get; }     // [R, D] plane 2
    public Tensor Context { get; }   // [R, D]
    public Tensor Projected { get; } // [R, D]
    public Tensor Inner { get; }     // [R, F]
    public Tensor QueryByBatch { get; }   // Query as [N, T, D]
    public Tensor ContextByBatch { get; } // Context as [N, T, D]
    /// <summary>Host staging for the embedding rows each of the R rows sums (K codebooks' and a position's) and for the rows' positions.</summary>
    public int[] Ids { get; }
    public int[] Positions { get; }

    public DecoderWorkspace(IBackend backend, int batch, int tokens, int width, int ffnDim, int codebooks)
    {
        Batch = batch;
        Tokens = tokens;
        int rows = batch * tokens;
        Hidden = backend.Allocate(rows, width);
        Normed = backend.Allocate(rows, width);
        QueryKeyValue = backend.Allocate(3, rows, width);
        Query = QueryKeyValue.Slice(0, 1).Reshape(rows, width);
        Key = QueryKeyValue.Slice(1, 1).Reshape(rows, width);
        Value = QueryKeyValue.Slice(2, 1).Reshape(rows, width);
        Context = backend.Allocate(rows, width);
        Projected = backend.Allocate(rows, width);
        Inner = backend.Allocate(rows, ffnDim);
        QueryByBatch = Query.Reshape(batch, tokens, width);
        ContextByBatch = Context.Reshape(batch, tokens, width);
        Ids = new int[rows * (codebooks + 1)];
        Positions = new int[rows];
    }

    public void Dispose()
    {
        foreach (var tensor in new[] { Hidden, Normed, QueryKeyValue, Context, Projected, Inner }) tensor.Dispose();
    }
}
