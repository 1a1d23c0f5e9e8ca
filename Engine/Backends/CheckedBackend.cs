using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends;

/// <summary>
/// The one checking front of every backend: each public operation checks its <see cref="OperationContracts"/>, then
/// calls the backend's protected <c>…Core</c> implementation, which may take its arguments as checked. The
/// operations are not virtual, so a backend cannot reach its callers without the check; a backend implements
/// <see cref="IBackend"/> only through this class.
/// </summary>
public abstract class CheckedBackend : IBackend
{
    public abstract string Name { get; }
    public abstract DeviceMemory Memory { get; }
    public abstract BackendCounters Counters { get; }
    public abstract BackendCapabilities Capabilities { get; }

    public abstract Tensor UploadPacked(PackedMatrix matrix);
    public abstract void Dispose();

    public Tensor Allocate(params int[] shape)
    {
        OperationContracts.Shape(shape, this);
        return AllocateCore(shape);
    }

    public Tensor AllocateUninitialized(params int[] shape)
    {
        OperationContracts.Shape(shape, this);
        return AllocateUninitializedCore(shape);
    }

    public Tensor AllocateCache(WeightType type, params int[] shape)
    {
        OperationContracts.Shape(shape, this);
        OperationContracts.AllocateCache(type, shape);
        return AllocateCacheCore(type, shape);
    }

    public Tensor Upload(ReadOnlySpan<float> data, params int[] shape)
    {
        OperationContracts.Shape(shape, this);
        OperationContracts.HostValues(data.Length, shape);
        return UploadCore(data, shape);
    }

    public Tensor Adopt(float[] data, params int[] shape)
    {
        OperationContracts.Shape(shape, this);
        OperationContracts.HostValues(data.Length, shape);
        return AdoptCore(data, shape);
    }

    public void Upload(ReadOnlySpan<float> data, Tensor destination)
    {
        OperationContracts.Upload(data.Length, destination);
        UploadCore(data, destination);
    }

    public void Download(Tensor source, Span<float> destination)
    {
        OperationContracts.Download(source, destination.Length);
        DownloadCore(source, destination);
    }

    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue = default)
    {
        OperationContracts.Linear(x, weight, bias, y, epilogue);
        LinearCore(x, weight, bias, y, epilogue);
    }

    public void LayerNormLinear(Tensor x, Tensor normWeight, Tensor? normBias, float eps, Tensor weight, Tensor? bias, Tensor y,
        LinearEpilogue epilogue = default)
    {
        OperationContracts.LayerNormLinear(x, normWeight, normBias, weight, bias, y, epilogue);
        LayerNormLinearCore(x, normWeight, normBias, eps, weight, bias, y, epilogue);
    }

    public void Conv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation)
    {
        OperationContracts.Conv1d(x, weight, bias, y, stride, dilation);
        Conv1dCore(x, weight, bias, y, stride, dilation);
    }

    public void PaddedConv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation, int padLeft, int padRight, PadMode mode)
    {
        OperationContracts.Conv1d(x, weight, bias, y, stride, dilation, padLeft, padRight);
        PaddedConv1dCore(x, weight, bias, y, stride, dilation, padLeft, padRight, mode);
    }

    public void ConvTranspose1d(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft)
    {
        OperationContracts.ConvTranspose1d(x, polyphaseWeight, bias, y, stride, kernelSize, trimLeft);
        ConvTranspose1dCore(x, polyphaseWeight, bias, y, stride, kernelSize, trimLeft);
    }

    public void Pad1d(Tensor x, Tensor y, int left, int right, PadMode mode)
    {
        OperationContracts.Pad1d(x, y, left, right);
        Pad1dCore(x, y, left, right, mode);
    }

    public void ResidualUnit(Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight, Tensor wideBias, Tensor y,
        int dilation, int padLeft, int padRight, PadMode mode)
    {
        OperationContracts.ResidualUnit(x, narrowWeight, narrowBias, wideWeight, wideBias, y, dilation, padLeft, padRight);
        ResidualUnitCore(x, narrowWeight, narrowBias, wideWeight, wideBias, y, dilation, padLeft, padRight, mode);
    }

    public void LayerNorm(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        OperationContracts.Norm("LayerNorm", x, weight, bias, y);
        LayerNormCore(x, weight, bias, y, eps);
    }

    public void RmsNorm(Tensor x, Tensor weight, Tensor y, float eps)
    {
        OperationContracts.Norm("RmsNorm", x, weight, null, y);
        RmsNormCore(x, weight, y, eps);
    }

    public void Softmax(Tensor x, Tensor y)
    {
        OperationContracts.SameLength("Softmax", x, y);
        SoftmaxCore(x, y);
    }

    public void Activation(Tensor x, Tensor y, ActivationKind kind)
    {
        OperationContracts.Activation(x, y, kind);
        ActivationCore(x, y, kind);
    }

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        OperationContracts.Elementwise("Add", a, b, y);
        AddCore(a, b, y);
    }

    public void Multiply(Tensor a, Tensor b, Tensor y)
    {
        OperationContracts.Elementwise("Multiply", a, b, y);
        MultiplyCore(a, b, y);
    }

    public void ScaleRows(Tensor x, ReadOnlySpan<float> scales, Tensor y)
    {
        OperationContracts.ScaleRows(x, scales.Length, y);
        ScaleRowsCore(x, scales, y);
    }

    public void Gather(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale = 1f, bool accumulate = false)
    {
        OperationContracts.Gather(table, ids, y);
        GatherCore(table, ids, y, scale, accumulate);
    }

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options)
    {
        OperationContracts.Attention(q, k, v, output, options, this);
        AttentionCore(q, k, v, output, options);
    }

    public void AppendAndAttend(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output, AttentionOptions options)
    {
        OperationContracts.AppendAndAttend(q, keys, values, keyCache, valueCache, output, options, this);
        AppendAndAttendCore(q, keys, values, keyCache, valueCache, output, options);
    }

    /// <summary>AppendAndAttend's append as two <see cref="CopyBlocks"/>: the composition a backend's fused append is tested against.</summary>
    protected void AppendInSteps(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, AttentionOptions options)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2), rows = keyCache.Dim(1);
        CopyBlocks(keys, 0, (long)queries * width, keyCache, (long)options.QueryOffset * width, (long)rows * width, queries * width, batch);
        CopyBlocks(values, 0, (long)queries * width, valueCache, (long)options.QueryOffset * width, (long)rows * width, queries * width, batch);
    }

    public void NearestCodes(Tensor x, Tensor codebook, Span<int> codes)
    {
        OperationContracts.NearestCodes(x, codebook, codes.Length);
        NearestCodesCore(x, codebook, codes);
    }

    public void SampleCodes(Tensor logits, int vocabulary, SamplingRule rule, ReadOnlySpan<float> uniforms, Span<int> codes)
    {
        OperationContracts.SampleCodes(logits, vocabulary, rule, uniforms.Length, codes.Length);
        SampleCodesCore(logits, vocabulary, rule, uniforms, codes);
    }

    public void LstmStep(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t)
    {
        OperationContracts.LstmStep(gates, recurrentWeight, cell, output, t);
        LstmStepCore(gates, recurrentWeight, cell, output, t);
    }

    public void CopyBlocks(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount)
    {
        OperationContracts.CopyBlocks(source, sourceOffset, sourceStride, destination, destinationOffset, destinationStride, blockLength, blockCount);
        CopyBlocksCore(source, sourceOffset, sourceStride, destination, destinationOffset, destinationStride, blockLength, blockCount);
    }

    public void Transpose(Tensor x, Tensor y)
    {
        OperationContracts.Transpose(x, y);
        TransposeCore(x, y);
    }

    protected abstract Tensor AllocateCore(int[] shape);
    protected abstract Tensor AllocateUninitializedCore(int[] shape);
    protected abstract Tensor AllocateCacheCore(WeightType type, int[] shape);
    protected abstract Tensor UploadCore(ReadOnlySpan<float> data, int[] shape);
    protected abstract Tensor AdoptCore(float[] data, int[] shape);
    protected abstract void UploadCore(ReadOnlySpan<float> data, Tensor destination);
    protected abstract void DownloadCore(Tensor source, Span<float> destination);
    protected abstract void LinearCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue);
    protected abstract void AppendAndAttendCore(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output,
        AttentionOptions options);
    protected abstract void LayerNormLinearCore(Tensor x, Tensor normWeight, Tensor? normBias, float eps, Tensor weight, Tensor? bias, Tensor y,
        LinearEpilogue epilogue);
    protected abstract void Conv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation);
    protected abstract void PaddedConv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation, int padLeft, int padRight, PadMode mode);
    protected abstract void ConvTranspose1dCore(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft);
    protected abstract void Pad1dCore(Tensor x, Tensor y, int left, int right, PadMode mode);
    protected abstract void ResidualUnitCore(Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight, Tensor wideBias, Tensor y,
        int dilation, int padLeft, int padRight, PadMode mode);
    protected abstract void LayerNormCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps);
    protected abstract void RmsNormCore(Tensor x, Tensor weight, Tensor y, float eps);
    protected abstract void SoftmaxCore(Tensor x, Tensor y);
    protected abstract void ActivationCore(Tensor x, Tensor y, ActivationKind kind);
    protected abstract void AddCore(Tensor a, Tensor b, Tensor y);
    protected abstract void MultiplyCore(Tensor a, Tensor b, Tensor y);
    protected abstract void ScaleRowsCore(Tensor x, ReadOnlySpan<float> scales, Tensor y);
    protected abstract void GatherCore(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale, bool accumulate);
    protected abstract void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options);
    protected abstract void NearestCodesCore(Tensor x, Tensor codebook, Span<int> codes);
    protected abstract void SampleCodesCore(Tensor logits, int vocabulary, SamplingRule rule, ReadOnlySpan<float> uniforms, Span<int> codes);
    protected abstract void LstmStepCore(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t);
    protected abstract void CopyBlocksCore(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount);
    protected abstract void TransposeCore(Tensor x, Tensor y);
}
