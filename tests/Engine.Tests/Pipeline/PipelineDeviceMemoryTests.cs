using MusicGen.Engine;
using MusicGen.Tests.Backends;

namespace MusicGen.Tests.Pipeline;

[Collection(OpenClCollection.Name)]
public sealed class PipelineDeviceMemoryTests(OpenClFixture fixture)
{
    [SkippableFact]
    public void Disposing_the_pipeline_frees_its_device_memory_and_generating_keeps_none()
    {
        var backend = fixture.Backend;
        long before = backend.TensorBytes;
        long loaded;
        using (var pipeline = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), backend))
        {
            loaded = backend.TensorBytes;
            Assert.True(loaded > before, "the weights are on the device");
            pipeline.Generate(MusicRequest.FromText("drums") with { Steps = 6, Greedy = true });
            Assert.Equal(loaded, backend.TensorBytes);

            // Cancelled in the middle: the cache and the step's buffers are released.
            using var cancellation = new CancellationTokenSource();
            var cancelAtThirdStep = new Progress(step => { if (step.Step == 3) cancellation.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Generate(MusicRequest.FromText("drums") with { Steps = 6 }, cancelAtThirdStep, cancellation.Token));
            Assert.Equal(loaded, backend.TensorBytes);
        }
        Assert.Equal(before, backend.TensorBytes);
    }

    private sealed class Progress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
