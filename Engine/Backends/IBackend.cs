using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends;

public enum ActivationKind { Relu, Elu, Gelu, GeluTanh }

public enum PadMode { Zero, Reflect }

/// <summary>
/// How one attention call masks and scales: q [B, Tq, H·Dh] against the first <see cref="KeyLength"/> rows of
/// k, v [B, Tk≥KeyLength, H·Dh] (float32, or both caches of one type from <see cref="IBackend.AllocateCache"/>). Causal masking lets query i see keys up to <see cref="QueryOffset"/> + i.
/// A masked score is replaced by float.MinValue before the softmax, as the reference adds finfo.min, so a row
/// whose keys are all masked averages every value uniformly instead of giving NaN.
/// </summary>
public readonly record struct AttentionOptions(
    int Heads,
    float Scale,
    int KeyLength,
    bool Causal = false,
    int QueryOffset = 0,
    Tensor? PositionBias = null,
    Tensor? KeyMask = null);

/// <summary>
/// The narrow set of operations every model is written against. Tensors are float32 (packed weight matrices
/// and key/value caches aside, see <see cref="UploadPacked"/> and <see cref="AllocateCache"/>) and live on the backend's
/// device; arguments are never resized, so callers allocate outputs once and reuse them. Outputs may alias
/// inputs only where an operation says so. A backend implements it by deriving from <see cref="CheckedBackend"/>,
/// which checks each operation's <see cref="OperationContracts"/> before the backend computes.
/// </summary>
public interface IBackend : IDisposable
{
    string Name { get; }

    /// <summary>What the backend holds now, weights, other tensors and scratch, as its own allocations count it.</summary>
    DeviceMemory Memory { get; }

    /// <summary>The kernel launches and host–device synchronizations so far (<see cref="BackendCounters"/>).</summary>
    BackendCounters Counters { get; }

    /// <summary>What the backend can do: limits and the way it multiplies packed weights.</summary>
    BackendCapabilities Capabilities { get; }

    /// <summary>A zero-filled tensor.</summary>
    Tensor Allocate(params int[] shape);

    /// <summary>
    /// A float32 tensor whose contents are undefined until written: for the output of an operation that writes
    /// all of it. The codec's activations are tens of megabytes a layer, and clearing them first was a pass
    /// through memory per layer for nothing.
    /// </summary>
    Tensor AllocateUninitialized(params int[] shape);

    /// <summary>
    /// A zero-filled key/value cache whose <see cref="Tensor.ElementType"/> is <paramref name="type"/>: F32 (a plain
    /// tensor, as <see cref="Allocate"/> makes), F16 (half the bytes) or Q8 (a little over a quarter: the elements
    /// in blocks of 32 consecutive ones along the last dimension, which must be a multiple of 32, each block 32
    /// int8 values q and a float32 scale d standing for d · q; the backend lays the bytes out as it likes). Only
    /// <see cref="CopyBlocks"/> writes an F16 or Q8 cache, and only <see cref="Attention"/> reads one, as its keys
    /// and values.
    /// </summary>
    Tensor AllocateCache(WeightType type, params int[] shape);
    Tensor Upload(ReadOnlySpan<float> data, params int[] shape);

    /// <summary>
    /// A tensor from a host array the caller hands over and no longer touches (weights at load, counted as
    /// <see cref="DeviceMemory.Weights"/>): a backend that keeps tensors in host memory uses the array itself instead of a copy.
    /// </summary>
    Tensor Adopt(float[] data, params int[] shape);
    void Upload(ReadOnlySpan<float> data, Tensor destination);

    /// <summary>
    /// A linear layer's weight matrix [rows, columns] in a packed low-precision type (the byte layouts of
    /// <see cref="PackedMatrix"/>); the tensor's <see cref="Tensor.ElementType"/> is that type. Such a tensor
    /// serves only as the weight of <see cref="Linear"/> and <see cref="LstmStep"/>. The matrix is handed over: a backend
    /// may keep its array and rearrange the bytes in place.
    /// </summary>
    Tensor UploadPacked(PackedMatrix matrix);
    void Download(Tensor source, Span<float> destination);

    /// <summary>
    /// y[M, N] = x[M, K] · w[N, K]ᵀ + bias[N], stored as <paramref name="epilogue"/> says (plainly, added to y, or
    /// through an activation); w is float32 or packed (<see cref="UploadPacked"/>).
    /// </summary>
    void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue = default);

    /// <summary>
    /// <see cref="Linear"/> of x[M, K] normalized first as <see cref="LayerNorm"/> normalizes it (normWeight and
    /// normBias [K], eps): a pre-norm layer's norm and first product in one operation, so a decoding step's product
    /// kernel normalizes its few rows itself instead of a launch of its own. y must not overlap x.
    /// </summary>
    void LayerNormLinear(Tensor x, Tensor normWeight, Tensor? normBias, float eps, Tensor weight, Tensor? bias, Tensor y,
        LinearEpilogue epilogue = default);

    /// <summary>
    /// y[B, Cout, Tout] = Σ w[Cout, Cin, K] ⋆ x[B, Cin, Tin] + bias, unpadded (see <see cref="Pad1d"/>),
    /// Tout = (Tin − (K − 1)·dilation − 1) / stride + 1.
    /// </summary>
    void Conv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation);

    /// <summary>
    /// <see cref="Conv1d"/> of x padded by padLeft and padRight steps as <see cref="Pad1d"/> pads, without a padded
    /// copy (the codec's convolutions pad inputs of tens of megabytes): the same floats as Pad1d then Conv1d.
    /// </summary>
    void PaddedConv1d(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation, int padLeft, int padRight, PadMode mode);

    /// <summary>
    /// Transposed convolution of x[B, Cin, Tin] with output positions [trimLeft, trimLeft + Tout) written to
    /// y[B, Cout, Tout]. The weight is in the polyphase layout of <see cref="ConvTransposeWeights"/>.
    /// </summary>
    void ConvTranspose1d(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft);

    /// <summary>y[R, T + left + right] = x[R, T] padded on its last dimension (reflection as EnCodec pads).</summary>
    void Pad1d(Tensor x, Tensor y, int left, int right, PadMode mode);

    /// <summary>
    /// SEANet's residual unit (without a shortcut convolution) in one operation, y[B, C, T] = x + Conv1d(ELU(
    /// Conv1d(ELU(Pad1d(x, padLeft, padRight, mode)), narrowWeight[Ch, C, K], narrowBias, dilation)), wideWeight[C, Ch, 1],
    /// wideBias), with padLeft + padRight = (K − 1)·dilation. Fusing it spares the intermediate tensors' trips
    /// through memory; <see cref="BackendExtensions.ResidualUnitInSteps"/> is the same as separate operations.
    /// </summary>
    void ResidualUnit(Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight, Tensor wideBias, Tensor y,
        int dilation, int padLeft, int padRight, PadMode mode);

    /// <summary>Normalization over the last dimension: (x − mean) / √(var + eps) · weight + bias.</summary>
    void LayerNorm(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps);

    /// <summary>T5's norm over the last dimension: x / √(mean(x²) + eps) · weight.</summary>
    void RmsNorm(Tensor x, Tensor weight, Tensor y, float eps);

    /// <summary>Softmax over the last dimension; y may be x.</summary>
    void Softmax(Tensor x, Tensor y);

    /// <summary>Elementwise activation; y may be x.</summary>
    void Activation(Tensor x, Tensor y, ActivationKind kind);

    /// <summary>y = a + b elementwise; y may be a or b.</summary>
    void Add(Tensor a, Tensor b, Tensor y);

    /// <summary>y = a · b elementwise; y may be a or b.</summary>
    void Multiply(Tensor a, Tensor b, Tensor y);

    /// <summary>y[r, :] = x[r, :] · scales[r] for every row r of the last dimension; y may be x.</summary>
    void ScaleRows(Tensor x, ReadOnlySpan<float> scales, Tensor y);

    /// <summary>
    /// y[n, :] (+)= scale · Σₛ table[ids[n·S + s], :] for table [V, D], y [N, D] and S = ids.Length / N ids a row
    /// (S = 1: one row each), summed in the order of the ids: several embeddings into one sum in one operation.
    /// </summary>
    void Gather(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale = 1f, bool accumulate = false);

    /// <summary>Multi-head scaled dot-product attention; output [B, Tq, H·Dh].</summary>
    void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options);

    /// <summary>
    /// A decoding step's cache append and self-attention in one operation: keys and values [B, Tq, H·Dh] (float32)
    /// written into keyCache and valueCache [B, rows, H·Dh] at rows QueryOffset … QueryOffset + Tq − 1 as
    /// <see cref="CopyBlocks"/> writes them, then <see cref="Attention"/> of q over the caches' first KeyLength =
    /// QueryOffset + Tq rows.
    /// </summary>
    void AppendAndAttend(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output, AttentionOptions options);

    /// <summary>codes[n] = the row of codebook [C, D] nearest to x[n, :] in Euclidean distance.</summary>
    void NearestCodes(Tensor x, Tensor codebook, Span<int> codes);

    /// <summary>
    /// The next code of each of the codes.Length rows of logits [R, V] (guided: [2·R, V], the unconditional rows
    /// after), as <see cref="SamplingRule.Pick"/> defines it with uniforms[r] (ignored when greedy); -1 for a row
    /// with a non-finite logit. Only the codes cross to the host: their download is the one wait.
    /// </summary>
    void SampleCodes(Tensor logits, int vocabulary, SamplingRule rule, ReadOnlySpan<float> uniforms, Span<int> codes);

    /// <summary>
    /// One LSTM time step t for every batch row. gates [B, T, 4H] hold x·W_ihᵀ + b_ih + b_hh (torch order
    /// i, f, g, o); the previous output is output[:, t − 1] (zero at t = 0); cell [B, H] carries c. recurrentWeight
    /// [4H, H] is float32 or packed (<see cref="UploadPacked"/>).
    /// </summary>
    void LstmStep(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t);

    /// <summary>
    /// Copies blockCount blocks of blockLength elements between strided positions. A float16 cache
    /// (<see cref="AllocateCache"/>) takes each float32 element rounded to the nearest float16. A q8 cache takes
    /// whole blocks of 32 (blockLength, destinationOffset and destinationStride multiples of 32), each quantized as
    /// <see cref="PackedMatrix"/> quantizes a block of a q8 weight row: d = max|x| / 127, q = x · (1 / d) rounded to
    /// the nearest integer, ties to even.
    /// </summary>
    void CopyBlocks(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount);

    /// <summary>y[B, N, M] = x[B, M, N] with the last two dimensions swapped.</summary>
    void Transpose(Tensor x, Tensor y);
}
