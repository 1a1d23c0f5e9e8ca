using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;

namespace MusicGen.Cli;

/// <summary>
/// What <c>--model</c> names: a checkpoint folder, or a Hugging Face Hub id found in (or downloaded into) the
/// Hugging Face cache, with the settings huggingface_hub reads from the environment.
/// </summary>
public static class ModelArgument
{
    public static CheckpointFolder Open(string model) => CheckpointFolder.Open(Resolve(model));

    /// <summary>The folder <paramref name="model"/> names, downloaded first when it is a Hub id missing from the cache.</summary>
    public static string Resolve(string model) => ModelLocator.Resolve(model, HubOptions.FromEnvironment(line => Console.Error.WriteLine(line)));

    /// <summary>
    /// The weight type to load <paramref name="folder"/> with: <paramref name="given"/> (--weights) when given, else
    /// the type a checkpoint written by <c>musicgen quantize</c> holds, else <paramref name="defaultType"/>.
    /// </summary>
    public static WeightType WeightsFor(string folder, WeightType? given, WeightType defaultType)
    {
        if (given is { } type) return type;
        using var store = WeightStore.Open(folder);
        return WeightsFor(store, null, defaultType);
    }

    /// <summary><see cref="WeightsFor(string, WeightType?, WeightType)"/> for an open checkpoint's weights.</summary>
    public static WeightType WeightsFor(WeightStore weights, WeightType? given, WeightType defaultType) =>
        given ?? weights.QuantizedType ?? defaultType;
}
