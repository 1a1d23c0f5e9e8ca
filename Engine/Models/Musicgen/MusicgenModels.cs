using MusicGen.Engine.Backends;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>Loads the MusicGen variant a checkpoint holds.</summary>
public static class MusicgenModels
{
    /// <summary>
    /// The model, the matrices of its linear layers in <paramref name="weightType"/> (the codec stays float32), its
    /// key/value cache in <paramref name="cacheType"/> (null: <see cref="DecoderCache.DefaultType"/> beside the weights), with
    /// the checkpoint's adapters merged; an adapter tensor that changed nothing the model read is an error.
    /// </summary>
    public static IMusicgenModel Load(IBackend backend, CheckpointFolder checkpoint, WeightType weightType = WeightType.F32, WeightType? cacheType = null)
    {
        IMusicgenModel model = checkpoint.Kind switch
        {
            CheckpointKind.MusicgenMelody => new MusicgenMelodyForConditionalGeneration(backend, checkpoint, weightType, cacheType),
            _ => new MusicgenForConditionalGeneration(backend, checkpoint, weightType, cacheType),
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
