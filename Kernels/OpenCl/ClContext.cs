namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// One device's context and its in-order command queue, with buffers and transfers (kernels run on the queue
/// through <see cref="ClKernel"/>). Commands run in the order they are enqueued, so nothing waits for the device
/// except reads and writes of host memory.
/// </summary>
internal sealed unsafe class ClContext : IDisposable
{
    public OpenClDevice Device { get; }
    public ClContextHandle Context { get; }
    public ClQueueHandle Queue { get; }

    /// <summary>Kernels enqueued on <see cref="Queue"/> (by <see cref="ClKernel.Run"/>).</summary>
    public long Launches { get; private set; }

    /// <summary>Blocking reads, each a wait for every enqueued command.</summary>
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
        fixed (T* p = data)
            ClErrors.Check(Cl.clEnqueueWriteBuffer(Queue, buffer, 1, (nuint)byteOffset, (nuint)(data.Length * sizeof(T)), p, 0, null, null), "clEnqueueWriteBuffer");
    }

    /// <summary>Waits for every enqueued command, then copies from the buffer into host memory.</summary>
    public void Read<T>(ClMemHandle buffer, long byteOffset, Span<T> destination) where T : unmanaged
    {
        if (destination.IsEmpty) return;
        Synchronizations++;
        fixed (T* p = destination)
            ClErrors.Check(Cl.clEnqueueReadBuffer(Queue, buffer, 1, (nuint)byteOffset, (nuint)(destination.Length * sizeof(T)), p, 0, null, null), "clEnqueueReadBuffer");
    }

    public void Dispose()
    {
        Queue.Dispose();
        Context.Dispose();
    }
}
