using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Tests.Models;

public class MusicgenTests
{
    [Fact]
    public void The_sinusoidal_table_equals_the_one_checkpoints_store()
    {
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"));
        var stored = checkpoint.AllWeights.Float("decoder.model.decoder.embed_positions.weights");
        var computed = MusicgenSinusoidalPositionalEmbedding.Table(stored.Shape[0], stored.Shape[1]);
        // The angles reach ~2000 rad in float32, where one ulp of the angle moves sin and cos by ~1e-4, and torch's
        // vectorized exp is not correctly rounded: the table is only reproducible to the golden tolerance (2e-4).
        Support.RandomData.AssertClose(stored.Data, computed, 2e-4, "positions");
    }
}
