using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Loaders.Hub;

/// <summary>
/// The files of one kind of Hub repository the engine reads: the file that says what the repository is (fetched
/// first), small files read when the repository has them, and the safetensors weights (for a checkpoint, a sharded
/// index and its shards where it has one). Everything else (PyTorch .bin, Flax .msgpack and TensorFlow .h5 weights,
/// READMEs, …) is never downloaded.
/// </summary>
/// <param name="Noun">What the repository holds, in messages: checkpoint, adapter.</param>
/// <param name="What">What a repository without <paramref name="Marker"/> is not.</param>
/// <param name="Marker">The file every such repository has, fetched first.</param>
/// <param name="Optional">Small files fetched when the repository has them.</param>
/// <param name="Weights">The single safetensors file.</param>
/// <param name="ShardIndex">The index of sharded weights, preferred when present; null where there is none.</param>
internal sealed record RepositoryFiles(string Noun, string What, string Marker, IReadOnlyList<string> Optional, string Weights, string? ShardIndex)
{
    /// <summary>A transformers checkpoint: config.json; generation defaults, audio preprocessing, the tokenizer in either form; the weights.</summary>
    public static RepositoryFiles Checkpoint { get; } = new("checkpoint", "a transformers checkpoint", "config.json",
        ["generation_config.json", "preprocessor_config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"],
        WeightStore.SingleFileName, WeightStore.IndexFileName);

    /// <summary>A PEFT adapter: adapter_config.json and adapter_model.safetensors.</summary>
    public static RepositoryFiles Adapter { get; } = new("adapter", "a PEFT adapter", LoraConfig.FileName, [], LoraAdapter.WeightsFileName, ShardIndex: null);
}
