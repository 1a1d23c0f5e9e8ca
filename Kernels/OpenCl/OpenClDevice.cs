namespace MusicGen.Kernels.OpenCl;

/// <summary>One OpenCL device as <see cref="OpenClDevices.List"/> numbers it (GPUs first).</summary>
public sealed record OpenClDevice(
    int Index,
    string Platform,
    string Name,
    string Vendor,
    string Version,
    string DriverVersion,
    string OpenClCVersion,
    bool IsGpu,
    long GlobalMemoryBytes,
    long MaxAllocationBytes,
    long LocalMemoryBytes,
    int ComputeUnits,
    long MaxWorkGroupSize,
    bool SupportsFp16)
{
    internal nint PlatformId { get; init; }
    internal nint DeviceId { get; init; }

    public override string ToString() =>
        $"{Index}: {Name} ({(IsGpu ? "GPU" : "not a GPU")}, {Platform}, {Version}, driver {DriverVersion}, {OpenClCVersion}, "
        + $"{GlobalMemoryBytes / (1024 * 1024)} MiB, {ComputeUnits} compute units, work groups up to {MaxWorkGroupSize}"
        + (SupportsFp16 ? ", fp16" : "") + ")";
}
