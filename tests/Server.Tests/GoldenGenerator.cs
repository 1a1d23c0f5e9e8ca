using MusicGen.Engine;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Server.Generation;
using MusicGen.Tests;

namespace MusicGen.Server.Tests;

/// <summary>The golden musicgen-mono checkpoint on the CPU, loaded once for every server test (they run one at a time).</summary>
public static class GoldenGenerator
{
    private static readonly Lazy<EngineMusicGenerator> Shared = new(() =>
        new EngineMusicGenerator(MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), new CpuBackend()), "golden/musicgen-mono"));

    public static EngineMusicGenerator Instance => Shared.Value;
}

/// <summary>Server tests share one generator and the CPU, so they run one class at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServerCollection
{
    public const string Name = "Server";
}
