using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// Tensor storage in an ILGPU accelerator's memory, owned by the tensor that allocated it and counted in its
/// backend's ledger until disposed: float32 elements, float16 ones (a key/value cache), or the bytes of a packed
/// weight matrix.
/// </summary>
public sealed class IlgpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    internal MemoryBuffer1D<T, Stride1D.Dense> Memory { get; }
    /// <summary>The accelerator the buffer lives on: kernels of another accelerator cannot use it.</summary>
    internal Accelerator Accelerator { get; }
    public long Length => Memory.Length;
    private readonly MemoryUse _use;
    private MemoryLedger? _ledger;

    internal IlgpuBuffer(Accelerator accelerator, MemoryBuffer1D<T, Stride1D.Dense> memory, MemoryLedger ledger, MemoryUse use)
    {
        Accelerator = accelerator;
        Memory = memory;
        _use = use;
        _ledger = ledger;
        ledger.Add(use, memory.LengthInBytes);
    }

    /// <summary>Frees the memory once the kernels queued before have run: one may still use it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _ledger, null) is not { } ledger) return;
        Accelerator.Synchronize();
        Memory.Dispose();
        ledger.Add(_use, -Memory.LengthInBytes);
    }
}
