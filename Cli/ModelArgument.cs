using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;

namespace MusicGen.Cli;

/// <summary>
/// What <c>--model</c> names: a checkpoint folder, or a Hugging Face Hub id found in (or downloaded into) the
/// Hugging Face cache, with the settings huggingface_hub reads from the environment.
/// </summary>
public static class ModelArgument
{
    public static CheckpointFolder Open(string model) =>
        CheckpointFolder.Open(ModelLocator.Resolve(model, HubOptions.FromEnvironment(line => Console.Error.WriteLine(line))));
}
