using MusicGen.Kernels.Ilgpu;

namespace MusicGen.Tests.Backends;

/// <summary>
/// One ILGPU backend on ILGPU's CPU accelerator (<c>ilgpu-cpu</c>, an emulator that runs on every machine) shared
/// by every ILGPU test class: the kernels compile once, and tests run one at a time, since a backend serves one
/// thread at a time. MUSICGEN_ILGPU_DEVICE=cuda runs the same tests on the first CUDA device instead (tools/gpu/bundle.sh
/// carries them to a GPU machine; see the README).
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    private readonly Lazy<IlgpuBackend> _backend = new(() => IlgpuBackend.Create(Kind()));

    private static IlgpuDeviceKind Kind() => Environment.GetEnvironmentVariable("MUSICGEN_ILGPU_DEVICE") switch
    {
        null or "" or "cpu" => IlgpuDeviceKind.Cpu,
        "cuda" => IlgpuDeviceKind.Cuda,
        var other => throw new InvalidOperationException($"MUSICGEN_ILGPU_DEVICE is '{other}'; it takes cpu or cuda"),
    };

    public IlgpuBackend Backend => _backend.Value;

    public void Dispose()
    {
        if (_backend.IsValueCreated) _backend.Value.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture>
{
    public const string Name = "ILGPU";
}
