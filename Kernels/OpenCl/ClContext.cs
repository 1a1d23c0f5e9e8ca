namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// One device's context and its in-order command queue, with buffers and transfers (kernels run on the queue
/// through <see cref="ClKernel"/>). Commands run in the order they are enqueued, so nothing waits for the device
/// except reads and writes of host memory; small host arguments are written without waiting (<see cref="WriteQueued"/>).
/// </summary>
internal sealed unsafe class ClContext : IDisposable
{
    private const int InitialStagingBytes = 64 * 1024, StagingAlignment = 64;

    /// <summary>
    /// Pinned host copies of the data of queued writes, which the queue reads only when it reaches them: a region is
    /// free again once the host has waited for the whole queue (a blocking read, or <see cref="Finish"/>).
    /// </summary>
    private byte[] _staging = GC.AllocateArray<byte>(InitialStagingBytes, pinned: true);
    private int _staged;

    public OpenClDevice Device { get; }
    public ClContextHandle Context { get; }
    public ClQueueHandle Queue { get; }

    /// <summary>Kernels enqueued on <see cref="Queue"/> (by <see cref="ClKernel.Run"/>).</summary>
    public long Launches { get; private set; }

    /// <summary>
    /// Blocking reads, each a wait for every enqueued command, and blocking writes, which may wait as long (a driver
    /// may stage the host memory and return at once, or wait for the in-order queue to reach the write).
    /// </summary>
    public long Synchronizations { get; private set; }

    public void CountLaunch() => Launches++;

    public ClContext(OpenClDevice device)
    {
        Device = device;
        int error;
        nint id = device.DeviceId;
        Context = Cl.clCreateContext(null, 1, &id, 0, 0, &error);
        ClErrors.Check(error, "clCreateContext");
        Queue = Cl.clCreateCommandQueue(Context, id, 0, &error);
        if (error != Cl.Success)
        {
            Context.Dispose();
            throw new OpenClException("clCreateCommandQueue", error);
        }
    }

    /// <summary>An uninitialized buffer of at least one byte (OpenCL refuses empty buffers).</summary>
    public ClMemHandle CreateBuffer(long bytes) => CreateBuffer(bytes, null);

    /// <summary>A buffer of at least one byte, initialized from host memory unless <paramref name="initial"/> is null.</summary>
    public ClMemHandle CreateBuffer(long bytes, void* initial)
    {
        int error;
        var memory = Cl.clCreateBuffer(Context, Cl.MemReadWrite | (initial is null ? 0 : Cl.MemCopyHostPtr), (nuint)Math.Max(1, bytes), initial, &error);
        ClErrors.Check(error, "clCreateBuffer");
        return memory;
    }

    /// <summary>Enqueues zeroing of [offset, offset + bytes); does not wait.</summary>
    public void FillZero(ClMemHandle buffer, long offset, long bytes)
    {
        if (bytes == 0) return;
        int zero = 0;
        ClErrors.Check(Cl.clEnqueueFillBuffer(Queue, buffer, &zero, sizeof(int), (nuint)offset, (nuint)bytes, 0, null, null), "clEnqueueFillBuffer");
    }

    /// <summary>Copies host memory into the buffer; returns once the host memory may be reused.</summary>
    public void Write<T>(ClMemHandle buffer, long byteOffset, ReadOnlySpan<T> data) where T : unmanaged
    {
        if (data.IsEmpty) return;
        Synchronizations++;
        fixed (T* p = data)
            ClErrors.Check(Cl.clEnqueueWriteBuffer(Queue, buffer, 1, (nuint)byteOffset, (nuint)(data.Length * sizeof(T)), p, 0, null, null), "clEnqueueWriteBuffer");
    }

    /// <summary>
    /// Queues a copy of host memory into the buffer and returns without waiting: the data is staged in pinned host
    /// memory first, so the caller's may change at once. Waits only when the staging is full of copies the queue may
    /// not have reached yet.
    /// </summary>
    public void WriteQueued<T>(ClMemHandle buffer, long byteOffset, ReadOnlySpan<T> data) where T : unmanaged
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data);
        if (bytes.IsEmpty) return;
        if (_staged + bytes.Length > _staging.Length)
        {
            Finish();
            if (bytes.Length > _staging.Length) _staging = GC.AllocateArray<byte>(Math.Max(bytes.Length, 2 * _staging.Length), pinned: true);
        }
        var place = _staging.AsSpan(_staged, bytes.Length);
        bytes.CopyTo(place);
        fixed (byte* p = place)
            ClErrors.Check(Cl.clEnqueueWriteBuffer(Queue, buffer, 0, (nuint)byteOffset, (nuint)bytes.Length, p, 0, null, null), "clEnqueueWriteBuffer");
        _staged = Math.Min(_staging.Length, _staged + (bytes.Length + StagingAlignment - 1) / StagingAlignment * StagingAlignment);
    }

    /// <summary>Waits for every enqueued command, then copies from the buffer into host memory.</summary>
    public void Read<T>(ClMemHandle buffer, long byteOffset, Span<T> destination) where T : unmanaged
    {
        if (destination.IsEmpty) return;
        Synchronizations++;
        fixed (T* p = destination)
            ClErrors.Check(Cl.clEnqueueReadBuffer(Queue, buffer, 1, (nuint)byteOffset, (nuint)(destination.Length * sizeof(T)), p, 0, null, null), "clEnqueueReadBuffer");
        _staged = 0;
    }

    /// <summary>Waits for every enqueued command.</summary>
    private void Finish()
    {
        Synchronizations++;
        ClErrors.Check(Cl.clFinish(Queue), "clFinish");
        _staged = 0;
    }

    public void Dispose()
    {
        Queue.Dispose();
        Context.Dispose();
    }
}
