using MusicGen.Loaders;
using System.Runtime.InteropServices;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// Tensor storage in managed memory, counted in the backend's ledger until disposed; an array from the backend's
/// pool goes back to it once, on Dispose.
/// </summary>
public sealed class CpuBuffer : IDeviceBuffer
{
    private readonly BufferPool? _pool;
    private readonly MemoryUse _use;
    private MemoryLedger? _ledger;

    public float[] Data { get; }
    public long Length => Data.Length;

    internal CpuBuffer(float[] data, MemoryLedger ledger, MemoryUse use, BufferPool? pool = null)
    {
        Data = data;
        _pool = pool;
        _use = use;
        _ledger = ledger;
        ledger.Add(use, Data.LongLength * sizeof(float));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _ledger, null) is not { } ledger) return;
        ledger.Add(_use, -Data.LongLength * sizeof(float));
        _pool?.Return(Data);
    }
}

/// <summary>
/// A key/value cache (made once per generation) in native memory, which Dispose hands straight back to the
/// operating system: float16 elements, or q8 ones laid out as the bytes of a q8 weight matrix whose rows are the
/// cache's positions (<see cref="PackedMatrix"/>): the int8 value of every element, then one float32 scale per
/// block of 32 elements. As managed arrays, a finished cache's arrays left holes that the codec's
/// larger arrays could not use, and a long generation's peak memory grew by the cache's size. Attention reads the
/// elements where they lie, converting them in registers (<see cref="Dots"/>, <see cref="AddScaled"/>).
/// </summary>
public sealed unsafe class CpuCacheBuffer : IDeviceBuffer
{
    private nint _address;

    public WeightType Type { get; }

    /// <summary>Elements (not bytes).</summary>
    public long Length { get; }

    private readonly MemoryLedger _ledger;

    internal CpuCacheBuffer(WeightType type, long length, MemoryLedger ledger)
    {
        if (type is not (WeightType.F16 or WeightType.Q8)) throw new ArgumentException($"a CPU cache buffer holds f16 or q8, not {type.Name()}");
        Type = type;
        Length = length;
        // On cache lines: a q8 row's head of 64 elements is then one line, read whole by a tile of attention.
        nuint bytes = (nuint)Math.Max(1, type.ByteCount(1, length));
        _address = (nint)NativeMemory.AlignedAlloc(bytes, 64);
        HugePages.Advise((void*)_address, (long)bytes);
        NativeMemory.Clear((void*)_address, bytes);
        _ledger = ledger;
        ledger.Add(MemoryUse.Tensors, type.ByteCount(1, length));
    }

    private byte* Address => _address != 0 ? (byte*)_address : throw new ObjectDisposedException(nameof(CpuCacheBuffer));

    /// <summary>The q8 values; element i's scale is Scales[i / 32].</summary>
    private sbyte* Values => (sbyte*)Address;

    private float* Scales => (float*)(Address + Length);

    private void CheckRange(long start, int length)
    {
        if (start < 0 || length < 0 || start + length > Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + length}) of {Length}");
    }

    /// <summary>Stores source as elements [start, start + source.Length): rounded to float16, or quantized in whole q8 blocks.</summary>
    public void Write(ReadOnlySpan<float> source, long start)
    {
        CheckRange(start, source.Length);
        if (Type == WeightType.F16) TensorPrimitives.ConvertToHalf(source, new Span<Half>((Half*)Address + start, source.Length));
        else Int8Cache.Quantize(source, Values + start, Scales + start / PackedMatrix.BlockSize);
    }

    /// <summary>
    /// dots[g] = x[g·dh, (g + 1)·dh) · elements [start + g·dh, start + (g + 1)·dh) for the heads g &lt; dots.Length
    /// of a row, dh = x.Length / dots.Length.
    /// </summary>
    public void Dots(ReadOnlySpan<float> x, long start, Span<float> dots)
    {
        CheckRange(start, x.Length);
        int heads = dots.Length, dh = x.Length / heads;
        if (dh * heads != x.Length) throw new ArgumentException($"{x.Length} elements are not {heads} heads");
        if (Type == WeightType.F16)
        {
            var halves = new ReadOnlySpan<Half>((Half*)Address + start, x.Length);
            for (int g = 0; g < heads; g++) dots[g] = PackedGemm.DotHalf(x.Slice(g * dh, dh), halves.Slice(g * dh, dh));
            return;
        }
        fixed (float* xs = x, ds = dots) Int8Cache.Dots(xs, Values, Scales, start, heads, dh, ds);
    }

    /// <summary>
    /// sum[g·dh, (g + 1)·dh) += w[g] · elements [start + g·dh, start + (g + 1)·dh) for the heads g &lt; w.Length of
    /// a row, dh = sum.Length / w.Length.
    /// </summary>
    public void AddScaled(long start, ReadOnlySpan<float> w, Span<float> sum)
    {
        CheckRange(start, sum.Length);
        int heads = w.Length, dh = sum.Length / heads;
        if (dh * heads != sum.Length) throw new ArgumentException($"{sum.Length} elements are not {heads} heads");
        if (Type == WeightType.F16)
        {
            var halves = new ReadOnlySpan<Half>((Half*)Address + start, sum.Length);
            for (int g = 0; g < heads; g++) PackedGemm.AddScaledHalf(halves.Slice(g * dh, dh), w[g], sum.Slice(g * dh, dh));
            return;
        }
        fixed (float* ws = w, sums = sum) Int8Cache.AddScaled(Values, Scales, start, heads, dh, ws, sums);
    }

    /// <summary>
    /// Whether attention over heads of <paramref name="dh"/> takes this cache's rows <see cref="Int8Cache.Tile"/> at a
    /// time: its q · k (<see cref="TileDots"/>) where <paramref name="keys"/>, its weighted values
    /// (<see cref="TileAddScaled"/>) otherwise.
    /// </summary>
    public bool TakesTiles(int dh, bool keys) =>
        Type == WeightType.Q8 && dh == Int8Cache.TileHeadDim && (keys ? Int8Cache.IntegerDots : PackedGemm.IsAccelerated);

    /// <summary>
    /// scores[g·scoreStride + k] = scale · (query head g · head g of the row k &lt; <see cref="Int8Cache.Tile"/> that
    /// starts at element start + k·rowStride), the query quantized to q8 blocks (xq, xs) by <see cref="Int8Cache.Quantize"/>.
    /// </summary>
    public void TileDots(ReadOnlySpan<sbyte> xq, ReadOnlySpan<float> xs, long start, int rowStride, float scale, Span<float> scores, int scoreStride)
    {
        int heads = xq.Length / Int8Cache.TileHeadDim;
        CheckRange(start, (Int8Cache.Tile - 1) * rowStride + xq.Length);
        if (xs.Length * PackedMatrix.BlockSize != xq.Length || scores.Length < (heads - 1) * scoreStride + Int8Cache.Tile)
            throw new ArgumentException($"{xq.Length} query values, {xs.Length} scales and {scores.Length} scores do not make {heads} heads");
        fixed (sbyte* q = xq)
        fixed (float* qs = xs, ss = scores)
            Int8Cache.TileDots(q, qs, Values, Scales, start, rowStride, heads, scale, ss, scoreStride);
    }

    /// <summary>
    /// sum[g·dh, (g + 1)·dh) += w[g·wStride + k] · head g of the row k &lt; <see cref="Int8Cache.Tile"/> that starts at
    /// element start + k·rowStride, dh = <see cref="Int8Cache.TileHeadDim"/>.
    /// </summary>
    public void TileAddScaled(long start, int rowStride, ReadOnlySpan<float> w, int wStride, Span<float> sum)
    {
        int heads = sum.Length / Int8Cache.TileHeadDim;
        CheckRange(start, (Int8Cache.Tile - 1) * rowStride + sum.Length);
        if (heads * Int8Cache.TileHeadDim != sum.Length || w.Length < (heads - 1) * wStride + Int8Cache.Tile)
            throw new ArgumentException($"{sum.Length} sums and {w.Length} weights do not make {heads} heads");
        fixed (float* ws = w, sums = sum) Int8Cache.TileAddScaled(Values, Scales, start, rowStride, heads, ws, wStride, sums);
    }

    /// <summary>Asks for elements [start, start + length) to be brought into L2; nothing where they run past the end.</summary>
    public void Prefetch(long start, int length)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || start < 0 || start + length > Length) return;
        if (Type == WeightType.F16)
        {
            Fetch((byte*)((Half*)Address + start), length * sizeof(Half));
            return;
        }
        Fetch((byte*)(Values + start), length);
        Fetch((byte*)(Scales + start / PackedMatrix.BlockSize), (length + PackedMatrix.BlockSize - 1) / PackedMatrix.BlockSize * sizeof(float));

        static void Fetch(byte* first, int bytes)
        {
            for (int offset = 0; offset < bytes; offset += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch1(first + offset);
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>A cache its owner failed to dispose (a generation ended by an exception) is freed all the same.</summary>
    ~CpuCacheBuffer() => Free();

    private void Free()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address == 0) return;
        NativeMemory.AlignedFree((void*)address);
        _ledger.Add(MemoryUse.Tensors, -Type.ByteCount(1, Length));
    }
}
