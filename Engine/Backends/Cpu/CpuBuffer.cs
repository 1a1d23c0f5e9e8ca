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
        _address = (nint)NativeMemory.AllocZeroed((nuint)Math.Max(1, type.ByteCount(1, length)));
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
        NativeMemory.Free((void*)address);
        _ledger.Add(MemoryUse.Tensors, -Type.ByteCount(1, Length));
    }
}
