namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// A device buffer reused across calls for host arguments (ids, scales, pad edges) and small intermediates, grown
/// when a call needs more. Reusing it is safe on the in-order queue: a write is ordered after the kernels that
/// read the previous contents, and a replaced buffer is only freed by the driver once those kernels are done.
/// </summary>
internal sealed class ScratchBuffer : IDisposable
{
    private readonly ClContext _cl;
    private ClMemHandle? _memory;
    private long _capacity;

    public ScratchBuffer(ClContext cl) => _cl = cl;

    /// <summary>The buffer, with room for at least that many bytes.</summary>
    public ClMemHandle Reserve(long bytes)
    {
        if (_memory is null || bytes > _capacity)
        {
            _memory?.Dispose();
            _capacity = Math.Max(bytes, Math.Max(256, _capacity * 2));
            _memory = _cl.CreateBuffer(_capacity);
        }
        return _memory;
    }

    /// <summary>The buffer holding a copy of the data from its start.</summary>
    public ClMemHandle Write<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        var memory = Reserve((long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        _cl.Write(memory, 0, data);
        return memory;
    }

    public void Dispose() => _memory?.Dispose();
}
