using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// A device buffer reused across calls for host arguments (ids, scales, pad edges), small intermediates and small
/// results, grown when a call needs more. A host copy into it, or growing it, first waits for the kernels queued
/// before: one of them may still read the previous contents (seen on ILGPU's CPU accelerator under load).
/// </summary>
internal sealed class DeviceScratch<T>(Accelerator accelerator) : IDisposable where T : unmanaged
{
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    /// <summary>A view of exactly <paramref name="count"/> elements (contents undefined).</summary>
    public ArrayView<T> Reserve(long count)
    {
        if (_buffer is null || count > _buffer.Length)
        {
            accelerator.Synchronize();
            _buffer?.Dispose();
            _buffer = accelerator.Allocate1D<T>(Math.Max(count, Math.Max(256, 2 * (_buffer?.Length ?? 0))));
        }
        return _buffer.View.SubView(0, count);
    }

    /// <summary>A view holding a copy of the data.</summary>
    public ArrayView<T> Write(ReadOnlySpan<T> data)
    {
        var view = Reserve(data.Length);
        if (data.IsEmpty) return view;
        accelerator.Synchronize();
        view.CopyFromCPU(ref MemoryMarshal.GetReference(data), data.Length);
        return view;
    }

    public void Dispose() => _buffer?.Dispose();
}
