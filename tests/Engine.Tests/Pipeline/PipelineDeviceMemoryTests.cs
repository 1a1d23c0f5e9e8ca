using MusicGen.Engine;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Backends;

namespace MusicGen.Tests.Pipeline;

/// <summary>
/// What a backend counts in <see cref="IBackend.Memory"/> as a pipeline loads, generates and is disposed. ILGPU's
/// CPU accelerator would take minutes for the generation; BackendOpsTests checks its counts per allocation.
/// </summary>
public abstract class PipelineDeviceMemoryTests
{
    protected abstract IBackend Backend { get; }

    protected virtual void SkipUnlessAvailable() { }

    /// <summary>The tensors the backend holds: scratch kept for reuse between operations may grow and stay.</summary>
    private long Held() => Backend.Memory.Weights + Backend.Memory.Tensors;

    [SkippableFact]
    public void Disposing_the_pipeline_frees_its_device_memory_and_generating_keeps_none()
    {
        SkipUnlessAvailable();
        var before = Backend.Memory;
        long loaded;
        using (var pipeline = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), Backend, weightType: WeightType.Q8))
        {
            loaded = Held();
            Assert.True(Backend.Memory.Weights > before.Weights, "the weights are counted as weights");
            pipeline.Generate(MusicRequest.FromText("drums") with { Steps = 6, Greedy = true });
            Assert.Equal(loaded, Held());

            // Cancelled in the middle: the cache and the step's buffers are released.
            using var cancellation = new CancellationTokenSource();
            var cancelAtThirdStep = new Progress(step => { if (step.Step == 3) cancellation.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Generate(MusicRequest.FromText("drums") with { Steps = 6 }, cancelAtThirdStep, cancellation.Token));
            Assert.Equal(loaded, Held());
        }
        Assert.Equal(before.Weights, Backend.Memory.Weights);
        Assert.Equal(before.Tensors, Backend.Memory.Tensors);
    }

    private sealed class Progress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}

public sealed class CpuPipelineDeviceMemoryTests : PipelineDeviceMemoryTests
{
    protected override IBackend Backend { get; } = new CpuBackend();
}

[Collection(OpenClCollection.Name)]
public sealed class OpenClPipelineDeviceMemoryTests(OpenClFixture fixture) : PipelineDeviceMemoryTests
{
    protected override IBackend Backend => fixture.Backend;

    protected override void SkipUnlessAvailable() => OpenClAvailability.SkipUnlessAvailable();
}

