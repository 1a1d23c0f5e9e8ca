namespace MusicGen.Kernels.Ilgpu;

/// <summary>Which of ILGPU's accelerators a device is driven by.</summary>
public enum IlgpuDeviceKind { Cuda, OpenCl, Cpu }

/// <summary>One device of ILGPU's, as <see cref="IlgpuDevices.List"/> numbers it within its kind.</summary>
public sealed record IlgpuDevice(
    IlgpuDeviceKind Kind,
    int Index,
    string Name,
    long MemoryBytes,
    int Multiprocessors,
    int WarpSize,
    int MaxGroupSize,
    string Details)
{
    /// <summary>The <c>--device</c> value that selects it: <c>cuda:0</c>, <c>ilgpu-cl:1</c>, <c>ilgpu-cpu</c>.</summary>
    public string DeviceName => Kind switch
    {
        IlgpuDeviceKind.Cuda => $"cuda:{Index}",
        IlgpuDeviceKind.OpenCl => $"ilgpu-cl:{Index}",
        _ => "ilgpu-cpu",
    };

    public override string ToString() => $"{DeviceName}: {Name} ({Details})";
}
