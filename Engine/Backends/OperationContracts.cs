using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends;

/// <summary>
/// The shape rules of each operation of <see cref="IBackend"/>, checked once for every backend by
/// <see cref="CheckedBackend"/> before the backend computes. A violation is a bug in the caller, reported with the
/// shapes involved.
/// </summary>
public static class OperationContracts
{
    public static void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue = default)
    {
        int n = weight.Dim(0), k = weight.Dim(1);
        long m = k == 0 ? 0 : x.Length / k;
        Require(x.Length == m * k && y.Length == m * n && (bias is null || bias.Length == n), "Linear", x, weight, y);
        if (epilogue.PlaneWidth > 0 && n % epilogue.PlaneWidth != 0)
            throw new ArgumentException($"Linear into planes of {epilogue.PlaneWidth}: {weight} has {n} output columns");
    }

    public static void LayerNormLinear(Tensor x, Tensor normWeight, Tensor? normBias, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue)
    {
        int k = weight.Dim(1);
        Require(x.Dim(-1) == k && normWeight.Length == k && (normBias is null || normBias.Length == k), "LayerNormLinear (norm)", x, normWeight, weight);
        Linear(x, weight, bias, y, epilogue);
    }

    public static void Conv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation, int padLeft = 0, int padRight = 0)
    {
        Require(padLeft >= 0 && padRight >= 0, "Conv1d (padding)", x, y);
        int cin = x.Dim(1), tin = x.Dim(2) + padLeft + padRight, cout = weight.Dim(0), kernel = weight.Dim(2);
        Require(weight.Dim(1) == cin && y.Dim(0) == x.Dim(0) && y.Dim(1) == cout && stride > 0 && dilation > 0
            && y.Dim(2) == (tin - (kernel - 1) * dilation - 1) / stride + 1 && (bias is null || bias.Length == cout), "Conv1d", x, weight, y);
    }

    public static void ConvTranspose1d(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft)
    {
        int cin = x.Dim(1), tin = x.Dim(2), cout = y.Dim(1), tout = y.Dim(2);
        int taps = ConvTransposeWeights.Taps(kernelSize, stride);
        Require(y.Dim(0) == x.Dim(0) && polyphaseWeight.Length == (long)stride * cout * cin * taps && trimLeft >= 0
            && trimLeft + tout <= (tin - 1) * stride + kernelSize && (bias is null || bias.Length == cout), "ConvTranspose1d", x, polyphaseWeight, y);
    }

    public static void ResidualUnit(Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight, Tensor wideBias, Tensor y,
        int dilation, int padLeft, int padRight)
    {
        int channels = x.Dim(1), narrow = narrowWeight.Dim(0), kernel = narrowWeight.Dim(2);
        Require(x.Rank == 3 && narrowWeight.Rank == 3 && wideWeight.Rank == 3 && narrowWeight.Dim(1) == channels
            && narrowBias.Length == narrow && wideWeight.Dim(0) == channels && wideWeight.Dim(1) == narrow && wideWeight.Dim(2) == 1
            && wideBias.Length == channels && y.Dim(0) == x.Dim(0) && y.Dim(1) == channels && y.Dim(2) == x.Dim(2)
            && dilation > 0 && padLeft >= 0 && padRight >= 0 && padLeft + padRight == (kernel - 1) * dilation,
            "ResidualUnit", x, narrowWeight, wideWeight, y);
    }

    public static void Pad1d(Tensor x, Tensor y, int left, int right)
    {
        int length = x.Dim(-1), padded = length + left + right;
        long rows = length == 0 ? 0 : x.Length / length;
        Require(y.Dim(-1) == padded && y.Length == rows * padded && left >= 0 && right >= 0, "Pad1d", x, y);
    }

    /// <summary>LayerNorm and RmsNorm: a weight (and bias) of the last dimension's size.</summary>
    public static void Norm(string operation, Tensor x, Tensor weight, Tensor? bias, Tensor y)
    {
        int d = weight.Dim(-1);
        Require(d > 0 && x.Length == y.Length && x.Length % d == 0 && x.Dim(-1) == d && (bias is null || bias.Length == d), operation, x, weight, y);
    }

    /// <summary>Softmax and activations: the same number of elements in and out.</summary>
    public static void SameLength(string operation, Tensor x, Tensor y) => Require(x.Length == y.Length, operation, x, y);

    /// <summary>Add and Multiply: three tensors of one length.</summary>
    public static void Elementwise(string operation, Tensor a, Tensor b, Tensor y) =>
        Require(a.Length == b.Length && a.Length == y.Length, operation, a, b, y);

    public static void ScaleRows(Tensor x, int rows, Tensor y) =>
        Require(x.Length == y.Length && x.Length == (long)rows * x.Dim(-1), "ScaleRows", x, y);

    /// <summary>Gather: the same whole number of ids (at least one) for every row of y, every id a row of the table.</summary>
    public static void Gather(Tensor table, ReadOnlySpan<int> ids, Tensor y)
    {
        long d = table.Dim(-1), rows = d == 0 ? 0 : y.Length / d;
        Require(y.Length == rows * d && (rows == 0 ? ids.IsEmpty : ids.Length >= rows && ids.Length % rows == 0), "Gather", table, y);
        int vocabulary = table.Dim(0);
        foreach (int id in ids)
            if ((uint)id >= (uint)vocabulary) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} outside a table of {vocabulary} rows");
    }

    public static void Activation(Tensor x, Tensor y, ActivationKind kind)
    {
        SameLength("Activation", x, y);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
    }

    /// <summary>A new tensor's shape: no more elements than the backend holds in one tensor.</summary>
    public static void Shape(int[] shape, IBackend backend)
    {
        // The backend, not its name: a name is formatted when asked for, which a check that passes must not do.
        if (ShapeText.ElementCount(shape) > backend.Capabilities.MaxElements)
            throw new ArgumentException($"a tensor of shape {ShapeText.Format(shape)} exceeds the {backend.Capabilities.MaxElements} elements {backend.Name} holds in one tensor");
    }

    /// <summary>Upload and Adopt: one host value per element of the shape.</summary>
    public static void HostValues(int values, int[] shape)
    {
        if (values != ShapeText.ElementCount(shape))
            throw new ArgumentException($"{values} values for shape {ShapeText.Format(shape)}");
    }

    /// <summary>Upload into a tensor: one host value per element of a float32 tensor.</summary>
    public static void Upload(int values, Tensor destination)
    {
        if (values != destination.Length || destination.ElementType != WeightType.F32)
            throw new ArgumentException($"Upload: {values} float32 values for {destination}");
    }

    /// <summary>Download: a float32 tensor into at least as many host values.</summary>
    public static void Download(Tensor source, int values)
    {
        if (values < source.Length || source.ElementType != WeightType.F32)
            throw new ArgumentException($"Download: {values} float32 values cannot hold {source}");
    }

    /// <summary>Attention, whose heads the backend must be able to accumulate (<see cref="BackendCapabilities.MaxHeadDimension"/>).</summary>
    public static void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options, IBackend backend)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2), keys = options.KeyLength, heads = options.Heads;
        Require(q.ElementType == WeightType.F32 && output.ElementType == WeightType.F32 && k.ElementType == v.ElementType
            && k.ElementType is (WeightType.F32 or WeightType.F16 or WeightType.Q8) && k.Rank == 3 && v.Rank == 3, "Attention (element types)", q, k, v, output);
        Require(heads > 0 && k.Dim(0) == batch && v.Dim(0) == batch && k.Dim(2) == width && v.Dim(2) == width && v.Dim(1) == k.Dim(1)
            && keys <= k.Dim(1) && output.Length == q.Length && width % heads == 0, "Attention", q, k, v, output);
        if (options.PositionBias is { } positionBias)
            Require(positionBias.Length == (long)heads * queries * keys, "Attention position bias", q, positionBias);
        if (options.KeyMask is { } keyMask)
            Require(keyMask.Length == (long)batch * keys, "Attention key mask", q, keyMask);
        if (width / heads > backend.Capabilities.MaxHeadDimension)
            throw new NotSupportedException($"Attention: head dimension {width / heads} exceeds the {backend.Capabilities.MaxHeadDimension} that {backend.Name} accumulates");
    }

    /// <summary>AppendAndAttend: Attention's rules, float32 new rows of q's size, and the new rows last of the keys attended.</summary>
    public static void AppendAndAttend(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output,
        AttentionOptions options, IBackend backend)
    {
        Require(keys.ElementType == WeightType.F32 && values.ElementType == WeightType.F32 && keys.Length == q.Length && values.Length == q.Length
            && options.QueryOffset >= 0 && options.KeyLength == options.QueryOffset + q.Dim(1), "AppendAndAttend", q, keys, values, keyCache);
        Attention(q, keyCache, valueCache, output, options, backend);
    }

    /// <summary>AllocateCache: float32, float16 or q8, a q8 cache's last dimension whole blocks of 32.</summary>
    public static void AllocateCache(WeightType type, int[] shape)
    {
        if (type is not (WeightType.F32 or WeightType.F16 or WeightType.Q8))
            throw new ArgumentException($"a key/value cache holds f32, f16 or q8 elements, not {type.Name()}");
        if (type == WeightType.Q8 && (shape.Length == 0 || shape[^1] % PackedMatrix.BlockSize != 0))
            throw new ArgumentException($"a q8 cache's last dimension is whole blocks of {PackedMatrix.BlockSize}, not {ShapeText.Format(shape)}");
    }

    /// <summary>
    /// CopyBlocks: float32 into float32, float16 or q8 (whole blocks of 32 at block boundaries), every block within
    /// both tensors.
    /// </summary>
    public static void CopyBlocks(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount)
    {
        if (source.ElementType != WeightType.F32 || destination.ElementType is not (WeightType.F32 or WeightType.F16 or WeightType.Q8))
            throw new ArgumentException($"CopyBlocks from {source} to {destination}: float32 copies into float32, float16 or q8");
        if (destination.ElementType == WeightType.Q8 && ((destinationOffset | destinationStride | (long)blockLength) % PackedMatrix.BlockSize != 0))
            throw new ArgumentException($"CopyBlocks into {destination}: a q8 cache takes whole blocks of {PackedMatrix.BlockSize}, "
                + $"not {blockLength} elements from {destinationOffset} (stride {destinationStride})");
        if (blockLength == 0 || blockCount == 0) return;
        long sourceEnd = sourceOffset + (blockCount - 1) * sourceStride + blockLength;
        long destinationEnd = destinationOffset + (blockCount - 1) * destinationStride + blockLength;
        if (blockLength < 0 || blockCount < 0 || sourceOffset < 0 || destinationOffset < 0 || sourceStride < 0 || destinationStride < 0
            || sourceEnd > source.Length || destinationEnd > destination.Length)
            throw new ArgumentOutOfRangeException(nameof(blockCount),
                $"CopyBlocks of {blockCount} × {blockLength} from {sourceOffset} (stride {sourceStride}) of {source} to {destinationOffset} (stride {destinationStride}) of {destination}");
    }

    public static void NearestCodes(Tensor x, Tensor codebook, int rows) =>
        Require(x.Length == (long)rows * codebook.Dim(1), "NearestCodes", x, codebook);

    /// <summary>SampleCodes: rows × V logits (twice as many guided), a uniform per row unless greedy.</summary>
    public static void SampleCodes(Tensor logits, int vocabulary, SamplingRule rule, int uniforms, int rows) =>
        Require(vocabulary > 0 && logits.ElementType == WeightType.F32 && logits.Length == (long)rows * vocabulary * (rule.Guided ? 2 : 1)
            && (rule.Greedy || uniforms == rows), "SampleCodes", logits);

    public static void LstmStep(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t)
    {
        int batch = gates.Dim(0), steps = gates.Dim(1), hidden = recurrentWeight.Dim(1);
        Require(gates.Dim(2) == 4 * hidden && recurrentWeight.Dim(0) == 4 * hidden && cell.Length == (long)batch * hidden
            && output.Length == (long)batch * steps * hidden && (uint)t < (uint)steps, "LstmStep", gates, recurrentWeight, cell, output);
        Require(gates.ElementType == WeightType.F32 && cell.ElementType == WeightType.F32 && output.ElementType == WeightType.F32,
            "LstmStep (element types)", gates, cell, output);
    }

    public static void Transpose(Tensor x, Tensor y) =>
        Require(x.Length == y.Length && y.Dim(-2) == x.Dim(-1) && y.Dim(-1) == x.Dim(-2), "Transpose", x, y);

    private static void Require(bool condition, string operation, params ReadOnlySpan<Tensor> tensors)
    {
        if (!condition) throw Incompatible(operation, tensors.ToArray());
    }

    private static ArgumentException Incompatible(string operation, Tensor[] tensors) =>
        new($"{operation}: incompatible shapes {string.Join(", ", tensors.Select(t => ShapeText.Format(t.Shape)))}");
}
