using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using MusicGen.Loaders;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// The devices ILGPU can drive: NVIDIA GPUs through its CUDA accelerator (PTX, needing only the driver), OpenCL
/// 2.0 devices with the generic address space through its OpenCL accelerator (AMD ROCm, Intel's compute runtime),
/// and its CPU accelerator, an emulator for tests.
/// </summary>
public static class IlgpuDevices
{
    /// <summary>
    /// The emulated device of <c>ilgpu-cpu</c>: warps of 2 threads, 4-thread groups (so warp and group reductions
    /// are both exercised while the emulator's threads per group stay few), one multiprocessor.
    /// </summary>
    private static readonly CPUDevice Emulator = new(numThreadsPerWarp: 2, numWarpsPerMultiprocessor: 2, numMultiprocessors: 1);

    static IlgpuDevices()
    {
        // ILGPU imports the CUDA driver as "cuda" (libcuda.so), a name that only the driver's development symlink
        // provides; a machine with the bare driver (or a container runtime) has libcuda.so.1.
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += ResolveCudaDriver;
    }

    private static nint ResolveCudaDriver(Assembly assembly, string name) =>
        name == "cuda" && OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libcuda.so.1", out nint handle) ? handle : 0;

    /// <summary>Every device of that kind; empty when there is none. Never throws for a missing driver.</summary>
    public static IReadOnlyList<IlgpuDevice> List(IlgpuDeviceKind kind) => Probe(kind).Devices;

    /// <summary>The devices of that kind, or none and why ILGPU could not enumerate them (a missing driver, …).</summary>
    private static (IReadOnlyList<IlgpuDevice> Devices, string? Failure) Probe(IlgpuDeviceKind kind)
    {
        try
        {
            using var context = CreateContext(kind);
            return (Devices(context, kind).Select((d, i) => Describe(kind, i, d)).ToArray(), null);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or CudaException or CLException or NotSupportedException
            or InvalidOperationException or EntryPointNotFoundException)
        {
            return ([], (e.InnerException ?? e).Message.ReplaceLineEndings(" "));
        }
    }

    /// <summary>The context and accelerator of device <paramref name="index"/> of that kind, or a one-line reason why there is none.</summary>
    internal static (Context Context, Accelerator Accelerator, IlgpuDevice Device) Open(IlgpuDeviceKind kind, int index)
    {
        var (devices, failure) = Probe(kind);
        if (devices.Count == 0) throw new MusicGenException(NoDeviceReason(kind) + (failure is null ? "" : $" ({failure})"));
        if ((uint)index >= (uint)devices.Count)
            throw new MusicGenException($"{devices[0].DeviceName.Split(':')[0]} device {index} does not exist; there {(devices.Count == 1 ? "is 1 device" : $"are {devices.Count} devices")}: "
                + string.Join("; ", devices) + " (musicgen devices lists them)");
        var context = CreateContext(kind);
        try
        {
            return (context, Devices(context, kind)[index].CreateAccelerator(context), devices[index]);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static string NoDeviceReason(IlgpuDeviceKind kind) => kind switch
    {
        IlgpuDeviceKind.Cuda => CudaDriverPresent()
            ? "no CUDA device found: the NVIDIA driver is installed but reports no GPU that ILGPU supports"
            : "no CUDA device found: the NVIDIA driver (libcuda) is not installed; --device cuda needs an NVIDIA GPU and its driver (use --device opencl or cpu)",
        IlgpuDeviceKind.OpenCl => "no ILGPU OpenCL device found: ILGPU's OpenCL accelerator needs an OpenCL 2.0 device with the generic address space "
            + "(AMD ROCm, Intel's compute runtime); for other OpenCL devices use --device opencl",
        _ => "ILGPU's CPU accelerator is unavailable",
    };

    private static bool CudaDriverPresent()
    {
        foreach (string name in OperatingSystem.IsWindows() ? ["nvcuda.dll"] : new[] { "libcuda.so.1", "libcuda.so" })
            if (NativeLibrary.TryLoad(name, out nint handle))
            {
                NativeLibrary.Free(handle);
                return true;
            }
        return false;
    }

    private static Context CreateContext(IlgpuDeviceKind kind) => Context.Create(builder =>
    {
        _ = kind switch
        {
            IlgpuDeviceKind.Cuda => builder.Cuda(),
            IlgpuDeviceKind.OpenCl => builder.OpenCL(),
            _ => builder.CPU(Emulator),
        };
        builder.EnableAlgorithms().Optimize(OptimizationLevel.O1);
    });

    private static List<Device> Devices(Context context, IlgpuDeviceKind kind)
    {
        var found = new List<Device>();
        foreach (var device in context)
            if (device.AcceleratorType == (kind switch { IlgpuDeviceKind.Cuda => AcceleratorType.Cuda, IlgpuDeviceKind.OpenCl => AcceleratorType.OpenCL, _ => AcceleratorType.CPU }))
                found.Add(device);
        return found;
    }

    private static IlgpuDevice Describe(IlgpuDeviceKind kind, int index, Device device)
    {
        string details = device switch
        {
            CudaDevice cuda => $"compute capability {cuda.Architecture}, PTX {cuda.InstructionSet}, driver {cuda.DriverVersion}",
            CLDevice cl => $"{cl.VendorName}, OpenCL {cl.CVersion}",
            _ => "emulated on the CPU, for tests",
        };
        long memory = device is CPUDevice ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : device.MemorySize;
        return new IlgpuDevice(kind, index, device.Name, memory, device.NumMultiprocessors, device.WarpSize, device.MaxNumThreadsPerGroup, details);
    }
}
