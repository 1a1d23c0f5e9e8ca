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
        // The counter is the process's: another thread (the test host's, a finalizer) may allocate during a window.
        // A step's own allocation shows in every window, so the quietest of three decides.
        long quietest = long.MaxValue;
        for (int window = 0; window < 3 && quietest >= 64; window++)
            quietest = Math.Min(quietest, BytesPerStep(run, Steps));
        // A few bytes a step of slack; one tensor object a step is more.
        Assert.True(quietest < 64, $"{quietest} bytes allocated per step");
    }

    private static long BytesPerStep(DecodingSteps run, int steps)
    {
        using var cache = run.Start(steps + 1);
        run.Step(cache);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int step = 0; step < steps; step++) run.Step(cache);
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / steps;
    }
}
