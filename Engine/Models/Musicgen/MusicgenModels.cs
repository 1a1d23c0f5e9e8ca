using MusicGen.Engine.Backends;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>Loads the MusicGen variant a checkpoint holds.</summary>
public static class MusicgenModels
{
    /// <summary>
    /// The model, the matrices of its linear layers in <paramref name="weightType"/> (the codec stays float32), with
    /// the checkpoint's adapters merged; an adapter tensor that changed nothing the model read is an error.
    /// </summary>
    public static IMusicgenModel Load(IBackend backend, CheckpointFolder checkpoint, WeightType weightType = WeightType.F32)
    {
        IMusicgenModel model = checkpoint.Kind switch
        {
            CheckpointKind.MusicgenMelody => new MusicgenMelodyForConditionalGeneration(backend, checkpoint, weightType),
            _ => new MusicgenForConditionalGeneration(backend, checkpoint, weightType),
        };
        try
        {
            checkpoint.Adapters.ThrowIfUnapplied();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
