using MusicGen.Engine;
using MusicGen.Engine.Backends.Cpu;

namespace MusicGen.Tests.Pipeline;

/// <summary>The golden mono, stereo and melody checkpoints, each loaded once on the CPU for all pipeline tests.</summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly CpuBackend _backend = new();

    public MusicgenPipeline Mono { get; }
    public MusicgenPipeline Stereo { get; }
    public MusicgenPipeline Melody { get; }

    public PipelineFixture()
    {
        Mono = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), _backend);
        Stereo = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"), _backend);
        Melody = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-melody"), "model"), _backend);
    }

    public void Dispose()
    {
        Mono.Dispose();
        Stereo.Dispose();
        Melody.Dispose();
        _backend.Dispose();
    }
}
