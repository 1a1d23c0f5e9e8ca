using MusicGen.Engine.Backends;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>Loads the MusicGen variant a checkpoint holds.</summary>
public static class MusicgenModels
{
    public static IMusicgenModel Load(IBackend backend, CheckpointFolder checkpoint) => checkpoint.Kind switch
    {
        CheckpointKind.MusicgenMelody => new MusicgenMelodyForConditionalGeneration(backend, checkpoint),
        _ => new MusicgenForConditionalGeneration(backend, checkpoint),
    };
}
