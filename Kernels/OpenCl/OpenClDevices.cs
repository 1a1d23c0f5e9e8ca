using MusicGen.Loaders;

namespace MusicGen.Kernels.OpenCl;

/// <summary>The OpenCL devices of every installed platform, numbered GPUs first, then the rest, each in driver order.</summary>
public static unsafe class OpenClDevices
{
    /// <summary>
    /// Every device; empty when the ICD loader is installed but finds no driver. Throws a
    /// <see cref="MusicGenException"/> when OpenCL itself is not installed.
    /// </summary>
    public static IReadOnlyList<OpenClDevice> List()
    {
        OpenClLibrary.EnsureLoaded();
        var found = new List<OpenClDevice>();
        foreach (nint platform in Platforms())
        {
            string platformName = ClQuery.PlatformString(platform, Cl.PlatformName);
            foreach (nint device in Devices(platform))
                found.Add(Describe(platformName, platform, device));
        }
        return found.OrderBy(d => d.IsGpu ? 0 : 1).Select((d, i) => d with { Index = i }).ToArray();
    }

    /// <summary>The device of that index, or an error listing the devices there are.</summary>
    public static OpenClDevice Get(int index)
    {
        var devices = List();
        if (devices.Count == 0)
            throw new MusicGenException("No OpenCL device found: the OpenCL loader is installed but no driver registered a device. "
                + "Install your GPU vendor's OpenCL runtime, or PoCL to run on the CPU (Debian/Ubuntu: sudo apt install pocl-opencl-icd).");
        if ((uint)index >= (uint)devices.Count)
            throw new MusicGenException($"OpenCL device {index} does not exist; there {(devices.Count == 1 ? "is 1 device" : $"are {devices.Count} devices")}:"
                + string.Concat(devices.Select(d => Environment.NewLine + "  " + d)));
        return devices[index];
    }

    private static nint[] Platforms()
    {
        uint count;
        int status = Cl.clGetPlatformIDs(0, null, &count);
        if (status == Cl.PlatformNotFound) return [];
        ClErrors.Check(status, "clGetPlatformIDs");
        var platforms = new nint[count];
        fixed (nint* p = platforms) ClErrors.Check(Cl.clGetPlatformIDs(count, p, null), "clGetPlatformIDs");
        return platforms;
    }

    private static nint[] Devices(nint platform)
    {
        uint count;
        int status = Cl.clGetDeviceIDs(platform, Cl.DeviceTypeAll, 0, null, &count);
        if (status == Cl.DeviceNotFound) return [];
        ClErrors.Check(status, "clGetDeviceIDs");
        var devices = new nint[count];
        fixed (nint* p = devices) ClErrors.Check(Cl.clGetDeviceIDs(platform, Cl.DeviceTypeAll, count, p, null), "clGetDeviceIDs");
        return devices;
    }

    private static OpenClDevice Describe(string platformName, nint platform, nint device) =>
        new(Index: -1,
            Platform: platformName,
            Name: ClQuery.DeviceString(device, Cl.DeviceName),
            Vendor: ClQuery.DeviceString(device, Cl.DeviceVendor),
            Version: ClQuery.DeviceString(device, Cl.DeviceVersion),
            DriverVersion: ClQuery.DeviceString(device, Cl.DriverVersion),
            OpenClCVersion: ClQuery.DeviceString(device, Cl.DeviceOpenClCVersion),
            IsGpu: (ClQuery.DeviceValue<ulong>(device, Cl.DeviceType) & Cl.DeviceTypeGpu) != 0,
            GlobalMemoryBytes: (long)ClQuery.DeviceValue<ulong>(device, Cl.DeviceGlobalMemSize),
            MaxAllocationBytes: (long)ClQuery.DeviceValue<ulong>(device, Cl.DeviceMaxMemAllocSize),
            LocalMemoryBytes: (long)ClQuery.DeviceValue<ulong>(device, Cl.DeviceLocalMemSize),
            ComputeUnits: (int)ClQuery.DeviceValue<uint>(device, Cl.DeviceMaxComputeUnits),
            MaxWorkGroupSize: (long)ClQuery.DeviceValue<nuint>(device, Cl.DeviceMaxWorkGroupSize),
            SupportsFp16: ClQuery.DeviceString(device, Cl.DeviceExtensions).Split(' ').Contains("cl_khr_fp16"))
        {
            PlatformId = platform,
            DeviceId = device,
        };
}
