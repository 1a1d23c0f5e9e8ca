using MusicGen.Cli.Bench;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Tests.Generation;

/// <summary>
/// A decoding step on the CPU allocates no managed memory, whatever the weight and cache types (garbage per step
/// had made hundreds of megabytes before the collector ran). The allocation counter is the process's, so this runs
/// in the collection that runs alone.
/// </summary>
[Collection("Console")]
public class StepAllocationTests
{
    [Theory]
    [InlineData(WeightType.F32, WeightType.F32)]
    [InlineData(WeightType.Q8, WeightType.Q8)]
    [InlineData(WeightType.Q4, WeightType.Q8)]
    [InlineData(WeightType.F16, WeightType.F16)]
    public void A_decoding_step_allocates_no_managed_memory(WeightType weights, WeightType cacheType)
    {
        const int Steps = 40;
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"));
        using var model = (MusicgenForConditionalGeneration)MusicgenModels.Load(backend, checkpoint, weights, cacheType);
        using var run = new DecodingSteps(backend, model, prompts: 2);
        run.WarmUp();
        // A longer piece first, so that the work arrays, which grow with the positions attended over, are grown.
        using (var longer = run.Start(2 * Steps))
            for (int step = 0; step < 2 * Steps; step++) run.Step(longer);
        using var cache = run.Start(Steps + 1);
        run.Step(cache);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int step = 0; step < Steps; step++) run.Step(cache);
        long perStep = (GC.GetTotalAllocatedBytes(precise: true) - before) / Steps;
        // A few bytes a step of slack for the test host's own threads; one tensor object a step is more.
        Assert.True(perStep < 64, $"{perStep} bytes allocated per step");
    }
}
