using ILGPU;
using ILGPU.Runtime;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// Every kernel of <see cref="IlgpuKernels"/> compiled for one accelerator, once, when the backend opens; the linear
/// products once per stored weight type, on first use (a float32 model never compiles the packed ones).
/// </summary>
internal sealed class IlgpuKernelSet
{
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Add { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Multiply { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> Activation { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> ScaleRows { get; }
    public Action<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float, int> Gather { get; }
    public Action<Index2D, ArrayView<float>, long, ArrayView<float>, long> CopyBlocks { get; }
    public Action<Index2D, ArrayView<float>, long, ArrayView<ushort>, long> CopyBlocksToHalf { get; }
    public Action<Index2D, ArrayView<float>, long, ArrayView<sbyte>, ArrayView<float>, long> CopyBlocksToQ8 { get; }
    public Action<Index2D, ArrayView<float>, ArrayView<float>, int, int, int, ArrayView<int>> Pad1d { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> CodebookNorms { get; }
    public Action<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> LstmCell { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> LayerNorm { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> RmsNorm { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, int> Softmax { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> NearestCodes { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<long>, ArrayView<int>, SamplingArguments> SampleCodes { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> Transpose { get; }
    public Action<KernelConfig, ArrayView<float>, FloatCache, FloatCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AppendedRows, AttentionShape> Attention { get; }
    public Action<KernelConfig, ArrayView<float>, HalfCache, HalfCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AppendedRows, AttentionShape> AttentionOverHalves { get; }
    private readonly Lazy<LinearKernels<Float32Weights>> _float32;
    private readonly Lazy<LinearKernels<Float16Weights>> _float16;
    private readonly Lazy<LinearKernels<BFloat16Weights>> _bfloat16;
    private readonly Lazy<LinearKernels<Q8Weights>> _q8;
    private readonly Lazy<LinearKernels<Q4Weights>> _q4;
    public LinearKernels<Float32Weights> Float32 => _float32.Value;
    public LinearKernels<Float16Weights> Float16 => _float16.Value;
    public LinearKernels<BFloat16Weights> BFloat16 => _bfloat16.Value;
    public LinearKernels<Q8Weights> Q8 => _q8.Value;
    public LinearKernels<Q4Weights> Q4 => _q4.Value;
    public Action<KernelConfig, ArrayView<float>, Int8Cache, Int8Cache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AppendedRows, AttentionShape> AttentionOverInt8 { get; }
    public Action<KernelConfig, Conv1dOperands> Conv1dTiled { get; }
    public Action<Index3D, Conv1dOperands> Conv1dDirect { get; }
    public Action<KernelConfig, ConvTranspose1dOperands> ConvTranspose1dTiled { get; }

    public IlgpuKernelSet(Accelerator a, DeviceCounters c)
    {
        Add = c.Counted(a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(IlgpuKernels.Add));
        Multiply = c.Counted(a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(IlgpuKernels.Multiply));
        Activation = c.Counted(a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.Activation));
        ScaleRows = c.Counted(a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.ScaleRows));
        Gather = c.Counted(a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float, int>(IlgpuKernels.Gather));
        CopyBlocks = c.Counted(a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<float>, long>(IlgpuKernels.CopyBlocks));
        CopyBlocksToHalf = c.Counted(a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<ushort>, long>(IlgpuKernels.CopyBlocksToHalf));
        CopyBlocksToQ8 = c.Counted(a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<sbyte>, ArrayView<float>, long>(IlgpuKernels.CopyBlocksToQ8));
        Pad1d = c.Counted(a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, int, int, int, ArrayView<int>>(IlgpuKernels.Pad1d));
        CodebookNorms = c.Counted(a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.CodebookNorms));
        LstmCell = c.Counted(a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(IlgpuKernels.LstmCell));
        LayerNorm = c.Counted(a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(IlgpuKernels.LayerNorm));
        RmsNorm = c.Counted(a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(IlgpuKernels.RmsNorm));
        Softmax = c.Counted(a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.Softmax));
        SampleCodes = c.Counted(a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<long>, ArrayView<int>, SamplingArguments>(IlgpuKernels.SampleCodes));
        NearestCodes = c.Counted(a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(IlgpuKernels.NearestCodes));
        Transpose = c.Counted(a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(IlgpuKernels.Transpose));
        Attention = c.Counted(a.LoadStreamKernel<ArrayView<float>, FloatCache, FloatCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AppendedRows, AttentionShape>(IlgpuKernels.Attention));
        AttentionOverHalves = c.Counted(a.LoadStreamKernel<ArrayView<float>, HalfCache, HalfCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AppendedRows, AttentionShape>(IlgpuKernels.Attention));
        _float32 = new(() => new LinearKernels<Float32Weights>(a, c));
        _float16 = new(() => new LinearKernels<Float16Weights>(a, c));
        _bfloat16 = new(() => new LinearKernels<BFloat16Weights>(a, c));
        _q8 = new(() => new LinearKernels<Q8Weights>(a, c));
        _q4 = new(() => new LinearKernels<Q4Weights>(a, c));
        AttentionOverInt8 = c.Counted(a.LoadStreamKernel<ArrayView<float>, Int8Cache, Int8Cache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AppendedRows, AttentionShape>(IlgpuKernels.Attention));
        Conv1dTiled = c.Counted(a.LoadStreamKernel<Conv1dOperands>(IlgpuKernels.TiledProduct));
        Conv1dDirect = c.Counted(a.LoadAutoGroupedStreamKernel<Index3D, Conv1dOperands>(IlgpuKernels.DirectProduct));
        ConvTranspose1dTiled = c.Counted(a.LoadStreamKernel<ConvTranspose1dOperands>(IlgpuKernels.TiledProduct));
    }
}

/// <summary>The two linear products (a decoding step's skinny one, the tiled one) over weights stored as TWeights reads them.</summary>
internal sealed class LinearKernels<TWeights>(Accelerator a, DeviceCounters c) where TWeights : struct, IWeightMatrix
{
    public Action<KernelConfig, ArrayView<float>, RowNorm, TWeights, ArrayView<float>, ArrayView<float>, SkinnyShape> Skinny { get; } =
        c.Counted(a.LoadStreamKernel<ArrayView<float>, RowNorm, TWeights, ArrayView<float>, ArrayView<float>, SkinnyShape>(IlgpuKernels.SkinnyProduct));

    public Action<KernelConfig, LinearOperands<TWeights>> Tiled { get; } = c.Counted(a.LoadStreamKernel<LinearOperands<TWeights>>(IlgpuKernels.TiledProduct));
}
