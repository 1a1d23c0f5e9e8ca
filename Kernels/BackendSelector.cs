using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders;

namespace MusicGen.Kernels;

/// <summary>Opens the backend a <c>--device</c> value names: <c>cpu</c>, <c>opencl</c> (device 0) or <c>opencl:INDEX</c>.</summary>
public static class BackendSelector
{
    public const string Help = "cpu, opencl (the first OpenCL device, GPUs first) or opencl:INDEX (see musicgen devices)";

    public static IBackend Open(string device)
    {
        string value = device.Trim().ToLowerInvariant();
        if (value == "cpu") return new CpuBackend();
        if (value == "opencl") return OpenClBackend.Create();
        if (value.StartsWith("opencl:", StringComparison.Ordinal)
            && int.TryParse(value["opencl:".Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
            return OpenClBackend.Create(index);
        throw new MusicGenException($"unknown device '{device}'; use {Help}");
    }
}
