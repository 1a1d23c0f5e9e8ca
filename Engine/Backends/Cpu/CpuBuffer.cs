using System.Runtime.InteropServices;
using MusicGen.Engine.Tensors;

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
/// A float16 tensor (a key/value cache, made once per generation) in native memory, which Dispose hands straight
/// back to the operating system. As managed arrays, a finished cache's arrays left holes that the codec's larger
/// arrays could not use, and a long generation's peak memory grew by the cache's size.
/// </summary>
public sealed unsafe class CpuHalfBuffer : IDeviceBuffer
{
    private nint _address;

    public long Length { get; }

    private readonly MemoryLedger _ledger;

    internal CpuHalfBuffer(long length, MemoryLedger ledger)
    {
        Length = length;
        _address = (nint)NativeMemory.AllocZeroed((nuint)Math.Max(1, length), (nuint)sizeof(Half));
        _ledger = ledger;
        ledger.Add(MemoryUse.Tensors, length * sizeof(Half));
    }

    /// <summary>Elements [start, start + length).</summary>
    public Span<Half> Slice(long start, int length)
    {
        if (_address == 0) throw new ObjectDisposedException(nameof(CpuHalfBuffer));
        if (start < 0 || length < 0 || start + length > Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + length}) of {Length}");
        return new Span<Half>((Half*)_address + start, length);
    }

    /// <summary>Asks for elements [start, start + length) to be brought into L2; nothing where they run past the end.</summary>
    public void Prefetch(long start, int length)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || start + length > Length) return;
        byte* first = (byte*)((Half*)_address + start);
        for (int offset = 0; offset < length * sizeof(Half); offset += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch1(first + offset);
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>A cache its owner failed to dispose (a generation ended by an exception) is freed all the same.</summary>
    ~CpuHalfBuffer() => Free();

    private void Free()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address == 0) return;
        NativeMemory.Free((void*)address);
        _ledger.Add(MemoryUse.Tensors, -Length * sizeof(Half));
    }
}
