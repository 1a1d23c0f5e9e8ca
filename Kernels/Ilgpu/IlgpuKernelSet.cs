using ILGPU;
using Half = ILGPU.Half;
using ILGPU.Runtime;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>Every kernel of <see cref="IlgpuKernels"/> compiled for one accelerator, once, when the backend opens.</summary>
internal sealed class IlgpuKernelSet
{
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Add { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Multiply { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> Activation { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> ScaleRows { get; }
    public Action<Index1D, ArrayView<Half>, ArrayView<float>> Widen { get; }
    public Action<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, int> Gather { get; }
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
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> Transpose { get; }
    public Action<KernelConfig, ArrayView<float>, FloatCache, FloatCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> Attention { get; }
    public Action<KernelConfig, ArrayView<float>, HalfCache, HalfCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> AttentionOverHalves { get; }
    public Action<KernelConfig, ArrayView<float>, Int8Cache, Int8Cache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> AttentionOverInt8 { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SkinnyShape> SkinnyProduct { get; }
    public Action<KernelConfig, LinearOperands> LinearTiled { get; }
    public Action<KernelConfig, Conv1dOperands> Conv1dTiled { get; }
    public Action<Index3D, Conv1dOperands> Conv1dDirect { get; }
    public Action<KernelConfig, ConvTranspose1dOperands> ConvTranspose1dTiled { get; }

    public IlgpuKernelSet(Accelerator a)
    {
        Add = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(IlgpuKernels.Add);
        Multiply = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(IlgpuKernels.Multiply);
        Activation = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.Activation);
        ScaleRows = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.ScaleRows);
        Widen = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<Half>, ArrayView<float>>(IlgpuKernels.Widen);
        Gather = a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, int>(IlgpuKernels.Gather);
        CopyBlocks = a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<float>, long>(IlgpuKernels.CopyBlocks);
        CopyBlocksToHalf = a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<ushort>, long>(IlgpuKernels.CopyBlocksToHalf);
        CopyBlocksToQ8 = a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<sbyte>, ArrayView<float>, long>(IlgpuKernels.CopyBlocksToQ8);
        Pad1d = a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, int, int, int, ArrayView<int>>(IlgpuKernels.Pad1d);
        CodebookNorms = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.CodebookNorms);
        LstmCell = a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(IlgpuKernels.LstmCell);
        LayerNorm = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(IlgpuKernels.LayerNorm);
        RmsNorm = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(IlgpuKernels.RmsNorm);
        Softmax = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(IlgpuKernels.Softmax);
        NearestCodes = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(IlgpuKernels.NearestCodes);
        Transpose = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(IlgpuKernels.Transpose);
        Attention = a.LoadStreamKernel<ArrayView<float>, FloatCache, FloatCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(IlgpuKernels.Attention);
        AttentionOverHalves = a.LoadStreamKernel<ArrayView<float>, HalfCache, HalfCache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(IlgpuKernels.Attention);
        AttentionOverInt8 = a.LoadStreamKernel<ArrayView<float>, Int8Cache, Int8Cache, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(IlgpuKernels.Attention);
        SkinnyProduct = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SkinnyShape>(IlgpuKernels.SkinnyProduct);
        LinearTiled = a.LoadStreamKernel<LinearOperands>(IlgpuKernels.TiledProduct);
        Conv1dTiled = a.LoadStreamKernel<Conv1dOperands>(IlgpuKernels.TiledProduct);
        Conv1dDirect = a.LoadAutoGroupedStreamKernel<Index3D, Conv1dOperands>(IlgpuKernels.DirectProduct);
        ConvTranspose1dTiled = a.LoadStreamKernel<ConvTranspose1dOperands>(IlgpuKernels.TiledProduct);
    }
}
