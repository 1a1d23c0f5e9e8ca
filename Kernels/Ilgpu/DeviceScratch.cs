using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// A device buffer reused across calls for host arguments (ids, scales, pad edges), small intermediates and small
/// results, grown when a call needs more. Reuse needs no waiting: a copy or kernel that writes it is queued on the
/// default stream behind the kernels that read the previous contents. Its bytes are counted as the backend's scratch.
/// </summary>
internal sealed class DeviceScratch<T>(Accelerator accelerator, MemoryLedger ledger, DeviceCounters counters) : IDisposable where T : unmanaged
{
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    /// <summary>A view of exactly <paramref name="count"/> elements (contents undefined).</summary>
    public ArrayView<T> Reserve(long count)
    {
        if (_buffer is null || count > _buffer.Length)
        {
            // Freeing is not a stream operation: a queued kernel may still read the old buffer.
            long previous = _buffer?.Length ?? 0;
            accelerator.Synchronize();
            Dispose();
            _buffer = accelerator.Allocate1D<T>(Math.Max(count, Math.Max(256, 2 * previous)));
            ledger.Add(MemoryUse.Scratch, _buffer.LengthInBytes);
        }
        return _buffer.View.SubView(0, count);
    }

    /// <summary>A view holding a copy of the data (copied pinned, see <see cref="IlgpuBackend"/>).</summary>
    public ArrayView<T> Write(ReadOnlySpan<T> data)
    {
        var view = Reserve(data.Length);
        view.CopyFromCPU(data);
        counters.CountSynchronization();
        return view;
    }

    public void Dispose()
    {
        if (_buffer is null || _buffer.IsDisposed) return;
        _buffer.Dispose();
        ledger.Add(MemoryUse.Scratch, -_buffer.LengthInBytes);
    }
}
