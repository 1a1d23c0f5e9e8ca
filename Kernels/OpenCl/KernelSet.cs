namespace MusicGen.Kernels.OpenCl;

/// <summary>Every kernel of the backend's program, created once, each checked against the work-group size it is launched with.</summary>
internal sealed class KernelSet : IDisposable
{
    private readonly List<ClKernel> _all = [];

    public ClKernel LinearTiled { get; }
    public ClKernel LinearRows { get; }
    public ClKernel Conv1dTiled { get; }
    public ClKernel Conv1dDirect { get; }
    public ClKernel ConvTranspose1dTiled { get; }
    public ClKernel LayerNorm { get; }
    public ClKernel RmsNorm { get; }
    public ClKernel Softmax { get; }
    public ClKernel Add { get; }
    public ClKernel Multiply { get; }
    public ClKernel Activation { get; }
    public ClKernel ScaleRows { get; }
    public ClKernel Gather { get; }
    public ClKernel CopyBlocks { get; }
    public ClKernel CopyBlocksToHalf { get; }
    public ClKernel CopyBlocksToQ8 { get; }
    public ClKernel Transpose { get; }
    public ClKernel Pad1d { get; }
    public ClKernel Attention { get; }
    public ClKernel CodebookNorms { get; }
    public ClKernel NearestCodes { get; }
    public ClKernel LstmCell { get; }
    public ClKernel SampleCodes { get; }

    public KernelSet(ClContext context, ClProgramHandle program)
    {
        try
        {
            const int tiled = KernelSizes.TileThreads * KernelSizes.TileThreads, element = KernelSizes.ElementThreads;
            ClKernel Make(string name, int workGroupSize)
            {
                var kernel = new ClKernel(context, program, name, workGroupSize);
                _all.Add(kernel);
                return kernel;
            }
            LinearTiled = Make("linear_tiled", tiled);
            LinearRows = Make("linear_rows", KernelSizes.RowsLanes * KernelSizes.RowsPerGroup);
            Conv1dTiled = Make("conv1d_tiled", tiled);
            Conv1dDirect = Make("conv1d_direct", element);
            ConvTranspose1dTiled = Make("conv_transpose1d_tiled", tiled);
            LayerNorm = Make("layer_norm", KernelSizes.ReduceThreads);
            RmsNorm = Make("rms_norm", KernelSizes.ReduceThreads);
            Softmax = Make("softmax", KernelSizes.ReduceThreads);
            Add = Make("add", element);
            Multiply = Make("multiply", element);
            Activation = Make("activation", element);
            ScaleRows = Make("scale_rows", element);
            Gather = Make("gather", element);
            CopyBlocks = Make("copy_blocks", element);
            CopyBlocksToHalf = Make("copy_blocks_to_half", element);
            CopyBlocksToQ8 = Make("copy_blocks_to_q8", element);
            Transpose = Make("transpose", KernelSizes.TransposeTile * KernelSizes.TransposeTile);
            Pad1d = Make("pad1d", element);
            Attention = Make("attention", KernelSizes.AttentionThreads);
            CodebookNorms = Make("codebook_norms", element);
            NearestCodes = Make("nearest_codes", KernelSizes.CodesThreads);
            LstmCell = Make("lstm_cell", element);
            SampleCodes = Make("sample_codes", element);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var kernel in _all) kernel.Dispose();
    }
}
