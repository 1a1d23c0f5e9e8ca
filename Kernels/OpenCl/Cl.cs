using System.Runtime.InteropServices;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// The OpenCL 1.2 C API calls the backend uses, declared as the ICD loader exports them. Handles that this code
/// owns cross as SafeHandles; platform and device ids (never released) as plain pointers. The library name is
/// resolved per operating system by <see cref="OpenClLibrary"/>, registered before the first call.
/// </summary>
internal static unsafe partial class Cl
{
    public const string Library = "OpenCL";

    static Cl() => OpenClLibrary.RegisterResolver();

    public const int Success = 0;
    public const int PlatformNotFound = -1001; // CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no driver
    public const int DeviceNotFound = -1;

    public const ulong DeviceTypeGpu = 1 << 2;
    public const ulong DeviceTypeAll = 0xFFFFFFFF;

    public const uint PlatformName = 0x0902;

    public const uint DeviceType = 0x1000;
    public const uint DeviceMaxComputeUnits = 0x1002;
    public const uint DeviceMaxWorkGroupSize = 0x1004;
    public const uint DeviceMaxMemAllocSize = 0x1010;
    public const uint DeviceGlobalMemSize = 0x101F;
    public const uint DeviceLocalMemSize = 0x1023;
    public const uint DeviceName = 0x102B;
    public const uint DeviceVendor = 0x102C;
    public const uint DriverVersion = 0x102D;
    public const uint DeviceVersion = 0x102F;
    public const uint DeviceExtensions = 0x1030;
    public const uint DeviceOpenClCVersion = 0x103D;

    public const ulong MemReadWrite = 1 << 0;
    public const ulong MemCopyHostPtr = 1 << 5;

    public const uint ProgramBinarySizes = 0x1165;
    public const uint ProgramBinaries = 0x1166;
    public const uint ProgramBuildLog = 0x1183;

    public const uint KernelWorkGroupSize = 0x11B0;

    [LibraryImport(Library)]
    public static partial int clGetPlatformIDs(uint entries, nint* platforms, uint* count);

    [LibraryImport(Library)]
    public static partial int clGetPlatformInfo(nint platform, uint name, nuint size, void* value, nuint* sizeReturned);

    [LibraryImport(Library)]
    public static partial int clGetDeviceIDs(nint platform, ulong type, uint entries, nint* devices, uint* count);

    [LibraryImport(Library)]
    public static partial int clGetDeviceInfo(nint device, uint name, nuint size, void* value, nuint* sizeReturned);

    [LibraryImport(Library)]
    public static partial ClContextHandle clCreateContext(nint* properties, uint deviceCount, nint* devices, nint notify, nint userData, int* error);

    [LibraryImport(Library)]
    public static partial int clReleaseContext(nint context);

    [LibraryImport(Library)]
    public static partial ClQueueHandle clCreateCommandQueue(ClContextHandle context, nint device, ulong properties, int* error);

    [LibraryImport(Library)]
    public static partial int clReleaseCommandQueue(nint queue);

    [LibraryImport(Library)]
    public static partial ClMemHandle clCreateBuffer(ClContextHandle context, ulong flags, nuint size, void* hostPointer, int* error);

    [LibraryImport(Library)]
    public static partial int clReleaseMemObject(nint memory);

    [LibraryImport(Library)]
    public static partial ClProgramHandle clCreateProgramWithSource(ClContextHandle context, uint count, byte** strings, nuint* lengths, int* error);

    [LibraryImport(Library)]
    public static partial ClProgramHandle clCreateProgramWithBinary(ClContextHandle context, uint deviceCount, nint* devices, nuint* lengths,
        byte** binaries, int* binaryStatus, int* error);

    [LibraryImport(Library)]
    public static partial int clBuildProgram(ClProgramHandle program, uint deviceCount, nint* devices, byte* options, nint notify, nint userData);

    [LibraryImport(Library)]
    public static partial int clGetProgramBuildInfo(ClProgramHandle program, nint device, uint name, nuint size, void* value, nuint* sizeReturned);

    [LibraryImport(Library)]
    public static partial int clGetProgramInfo(ClProgramHandle program, uint name, nuint size, void* value, nuint* sizeReturned);

    [LibraryImport(Library)]
    public static partial int clReleaseProgram(nint program);

    [LibraryImport(Library)]
    public static partial ClKernelHandle clCreateKernel(ClProgramHandle program, byte* name, int* error);

    [LibraryImport(Library)]
    public static partial int clReleaseKernel(nint kernel);

    [LibraryImport(Library)]
    public static partial int clSetKernelArg(ClKernelHandle kernel, uint index, nuint size, void* value);

    [LibraryImport(Library)]
    public static partial int clGetKernelWorkGroupInfo(ClKernelHandle kernel, nint device, uint name, nuint size, void* value, nuint* sizeReturned);

    [LibraryImport(Library)]
    public static partial int clEnqueueNDRangeKernel(ClQueueHandle queue, ClKernelHandle kernel, uint dimensions, nuint* globalOffset,
        nuint* globalSize, nuint* localSize, uint waitCount, nint* waitList, nint* evt);

    [LibraryImport(Library)]
    public static partial int clEnqueueReadBuffer(ClQueueHandle queue, ClMemHandle buffer, uint blocking, nuint offset, nuint size, void* pointer,
        uint waitCount, nint* waitList, nint* evt);

    [LibraryImport(Library)]
    public static partial int clEnqueueWriteBuffer(ClQueueHandle queue, ClMemHandle buffer, uint blocking, nuint offset, nuint size, void* pointer,
        uint waitCount, nint* waitList, nint* evt);

    [LibraryImport(Library)]
    public static partial int clFinish(ClQueueHandle queue);

    [LibraryImport(Library)]
    public static partial int clEnqueueFillBuffer(ClQueueHandle queue, ClMemHandle buffer, void* pattern, nuint patternSize, nuint offset, nuint size,
        uint waitCount, nint* waitList, nint* evt);
}
