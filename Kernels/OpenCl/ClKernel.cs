namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// One kernel of the program with its arguments set in order and its launch. A launch reads
/// <c>kernel.Start().Memory(buffer).Int(n)….Run(global, local)</c>; nothing is allocated per launch. Kernel objects hold
/// their arguments, so a kernel is used by one thread at a time.
/// </summary>
internal sealed unsafe class ClKernel : IDisposable
{
    private readonly ClKernelHandle _handle;
    private uint _next;

    public string Name { get; }
    public ClContext Context { get; }

    public ClKernel(ClContext context, ClProgramHandle program, string name, int workGroupSize)
    {
        Name = name;
        Context = context;
        var device = context.Device;
        int error;
        var bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* p = bytes) _handle = Cl.clCreateKernel(program, p, &error);
        ClErrors.Check(error, $"clCreateKernel({name})");
        nuint limit;
        ClErrors.Check(Cl.clGetKernelWorkGroupInfo(_handle, device.DeviceId, Cl.KernelWorkGroupSize, (nuint)sizeof(nuint), &limit, null),
            $"clGetKernelWorkGroupInfo({name})");
        if ((long)limit < workGroupSize)
            throw new OpenClException($"kernel {name} on {device.Name}", -54 /* CL_INVALID_WORK_GROUP_SIZE */,
                $"the kernel needs work groups of {workGroupSize} items; the device allows {limit} for it");
    }

    public ClKernel Start()
    {
        _next = 0;
        return this;
    }

    public ClKernel Memory(ClMemHandle memory)
    {
        ObjectDisposedException.ThrowIf(memory.IsClosed, memory);
        nint value = memory.DangerousGetHandle();
        return Set(&value, (nuint)sizeof(nint));
    }

    public ClKernel Int(int value) => Set(&value, sizeof(int));

    public ClKernel Float(float value) => Set(&value, sizeof(float));

    /// <summary>A __local array of that many bytes, sized at launch.</summary>
    public ClKernel Local(int bytes) => Set(null, (nuint)bytes);

    private ClKernel Set(void* value, nuint size)
    {
        int status = Cl.clSetKernelArg(_handle, _next, size, value);
        if (status != Cl.Success) throw new OpenClException($"clSetKernelArg({Name}, {_next})", status);
        _next++;
        return this;
    }

    /// <summary>Enqueues the kernel over a 1-, 2- or 3-dimensional range (each global size a multiple of the local size).</summary>
    public void Run(ReadOnlySpan<long> global, ReadOnlySpan<long> local)
    {
        nuint* globalSize = stackalloc nuint[3];
        nuint* localSize = stackalloc nuint[3];
        for (int d = 0; d < global.Length; d++)
        {
            if (global[d] == 0) return; // an empty range: nothing to do, and OpenCL 1.2 rejects it
            globalSize[d] = (nuint)global[d];
            localSize[d] = (nuint)local[d];
        }
        int status = Cl.clEnqueueNDRangeKernel(Context.Queue, _handle, (uint)global.Length, null, globalSize, localSize, 0, null, null);
        if (status != Cl.Success) throw new OpenClException($"clEnqueueNDRangeKernel({Name})", status);
        Context.CountLaunch();
    }

    public void Dispose() => _handle.Dispose();
}
