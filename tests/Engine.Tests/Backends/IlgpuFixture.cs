using MusicGen.Kernels.Ilgpu;

namespace MusicGen.Tests.Backends;

/// <summary>
/// One ILGPU backend on ILGPU's CPU accelerator (<c>ilgpu-cpu</c>, an emulator that runs on every machine) shared
/// by every ILGPU test class: the kernels compile once, and tests run one at a time, since a backend serves one
/// thread at a time.
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    private readonly Lazy<IlgpuBackend> _backend = new(() => IlgpuBackend.Create(IlgpuDeviceKind.Cpu));

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
