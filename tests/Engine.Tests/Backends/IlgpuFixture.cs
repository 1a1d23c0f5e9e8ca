using MusicGen.Kernels;
using MusicGen.Kernels.Ilgpu;

namespace MusicGen.Tests.Backends;

/// <summary>
/// One ILGPU backend on ILGPU's CPU accelerator (<c>ilgpu-cpu</c>, an emulator that runs on every machine) shared
/// by every ILGPU test class: the kernels compile once, and tests run one at a time, since a backend serves one
/// thread at a time. MUSICGEN_ILGPU_DEVICE names another ILGPU device as --device does (cuda, cuda:1): the same tests
/// on a GPU (tools/gpu/bundle.sh carries them to a GPU machine; see the README).
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    private readonly Lazy<IlgpuBackend> _backend = new(Open);

    private static IlgpuBackend Open()
    {
        string device = Environment.GetEnvironmentVariable("MUSICGEN_ILGPU_DEVICE") is { Length: > 0 } named ? named : "ilgpu-cpu";
        var backend = BackendSelector.Open(device);
        if (backend is IlgpuBackend ilgpu) return ilgpu;
        backend.Dispose();
        throw new InvalidOperationException($"MUSICGEN_ILGPU_DEVICE is '{device}', which is not an ILGPU device (ilgpu-cpu, cuda[:INDEX], ilgpu-cl[:INDEX])");
    }

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
