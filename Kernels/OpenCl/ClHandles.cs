using Microsoft.Win32.SafeHandles;

namespace MusicGen.Kernels.OpenCl;

// One SafeHandle per kind of OpenCL object this code creates: each releases its reference exactly once, even
// when its owner is never disposed. Every object holds a reference to its context, so the context goes away
// only after the last buffer, kernel, program and queue made from it.

internal sealed class ClContextHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Cl.clReleaseContext(handle) == Cl.Success;
}

internal sealed class ClQueueHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Cl.clReleaseCommandQueue(handle) == Cl.Success;
}

internal sealed class ClMemHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Cl.clReleaseMemObject(handle) == Cl.Success;
}

internal sealed class ClProgramHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Cl.clReleaseProgram(handle) == Cl.Success;
}

internal sealed class ClKernelHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Cl.clReleaseKernel(handle) == Cl.Success;
}
