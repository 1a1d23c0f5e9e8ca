using MusicGen.Engine;
using MusicGen.Engine.Backends.Cpu;

namespace MusicGen.Tests.Pipeline;

/// <summary>The golden mono and stereo checkpoints, each loaded once on the CPU for all pipeline tests.</summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly CpuBackend _backend = new();

    public MusicgenPipeline Mono { get; }
    public MusicgenPipeline Stereo { get; }

    public PipelineFixture()
    {
        Mono = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), _backend);
        Stereo = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"), _backend);
    }

    public void Dispose()
    {
        Mono.Dispose();
        Stereo.Dispose();
        _backend.Dispose();
    }
}
