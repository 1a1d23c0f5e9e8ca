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
    private const int InitialStaging = 4096;

    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    /// <summary>
    /// Page-locked host copies of the data of queued copies (<see cref="Write"/>), which the stream reads only when
    /// it reaches them: the staging is free again once the host has waited for the stream (any synchronization the
    /// backend counts after <see cref="_stagedSince"/>).
    /// </summary>
    private PageLockedArray1D<T>? _staging;
    private long _staged, _stagedSince;

    /// <summary>A view of exactly <paramref name="count"/> elements (contents undefined).</summary>
    public ArrayView<T> Reserve(long count)
    {
        if (_buffer is null || count > _buffer.Length)
        {
            // Freeing is not a stream operation: a queued kernel may still read the old buffer.
            long previous = _buffer?.Length ?? 0;
            accelerator.Synchronize();
            counters.CountSynchronization();
            FreeBuffer();
            _buffer = accelerator.Allocate1D<T>(Math.Max(count, Math.Max(256, 2 * previous)));
            ledger.Add(MemoryUse.Scratch, _buffer.LengthInBytes);
        }
        return _buffer.View.SubView(0, count);
    }

    /// <summary>
    /// A view holding a copy of the data for the kernels queued next: the copy is queued on the default stream from
    /// page-locked staging without waiting, so the caller's data may change at once. Waits only when the staging is
    /// full of copies the stream may not have reached yet.
    /// </summary>
    public ArrayView<T> Write(ReadOnlySpan<T> data)
    {
        var view = Reserve(data.Length);
        if (data.IsEmpty) return view;
        if (counters.Synchronizations != _stagedSince) (_staged, _stagedSince) = (0, counters.Synchronizations);
        if (_staging is null || _staged + data.Length > _staging.Length)
        {
            if (_staged > 0)
            {
                accelerator.Synchronize();
                counters.CountSynchronization();
            }
            if (_staging is null || data.Length > _staging.Length)
            {
                long length = Math.Max(data.Length, _staging is null ? InitialStaging : 2 * _staging.Length);
                _staging?.Dispose();
                _staging = accelerator.AllocatePageLocked1D<T>(length);
            }
            (_staged, _stagedSince) = (0, counters.Synchronizations);
        }
        var staged = _staging.ArrayView.SubView(_staged, data.Length);
        data.CopyTo(_staging.Span.Slice((int)_staged, data.Length));
        view.CopyFrom(accelerator.DefaultStream, staged);
        _staged += data.Length;
        return view;
    }

    public void Dispose()
    {
        _staging?.Dispose();
        _staging = null;
        FreeBuffer();
    }

    private void FreeBuffer()
    {
        if (_buffer is null || _buffer.IsDisposed) return;
        _buffer.Dispose();
        ledger.Add(MemoryUse.Scratch, -_buffer.LengthInBytes);
    }
}
