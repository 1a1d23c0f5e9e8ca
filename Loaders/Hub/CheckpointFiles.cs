namespace MusicGen.Loaders.Hub;

/// <summary>
/// The files of a Hub repository the engine reads besides the safetensors weights. Everything else (PyTorch .bin,
/// Flax .msgpack and TensorFlow .h5 weights, READMEs, …) is never downloaded.
/// </summary>
internal static class CheckpointFiles
{
    public const string Config = "config.json";

    /// <summary>Read when the repository has them: generation defaults, audio preprocessing, the tokenizer in either form.</summary>
    public static IReadOnlyList<string> Optional { get; } =
    [
        "generation_config.json", "preprocessor_config.json",
        "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    ];
}
