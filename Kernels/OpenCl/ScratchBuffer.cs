using MusicGen.Engine.Backends;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// A device buffer reused across calls for host arguments (ids, scales, pad edges) and small intermediates, grown
/// when a call needs more. Reusing it is safe on the in-order queue: a write is ordered after the kernels that
/// read the previous contents, and a replaced buffer is only freed by the driver once those kernels are done. Its
/// bytes are counted as the backend's scratch.
/// </summary>
internal sealed class ScratchBuffer(ClContext cl, MemoryLedger ledger) : IDisposable
{
    private ClMemHandle? _memory;
    private long _capacity;

    /// <summary>The buffer, with room for at least that many bytes.</summary>
    public ClMemHandle Reserve(long bytes)
    {
        if (_memory is null || bytes > _capacity)
        {
            long capacity = Math.Max(bytes, Math.Max(256, _capacity * 2));
            Dispose();
            _memory = cl.CreateBuffer(capacity);
            _capacity = capacity;
            ledger.Add(MemoryUse.Scratch, capacity);
        }
        return _memory;
    }

    /// <summary>The buffer holding a copy of the data from its start, for the kernels enqueued next (the copy is queued, see <see cref="ClContext.WriteQueued"/>).</summary>
    public ClMemHandle Write<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        var memory = Reserve((long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        cl.WriteQueued(memory, 0, data);
        return memory;
    }

    public void Dispose()
    {
        if (_memory is null || _memory.IsClosed) return;
        _memory.Dispose();
        ledger.Add(MemoryUse.Scratch, -_capacity);
    }
}
