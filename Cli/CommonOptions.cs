using System.CommandLine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Cli;

/// <summary>Options several commands share, defined once.</summary>
public static class CommonOptions
{
    public static Option<string> Model() => new Option<string>("--model", "-m")
    {
        Description = "Checkpoint folder (as on the Hugging Face Hub: config.json, model.safetensors or shards, …), or a Hub id "
            + "such as facebook/musicgen-small or owner/name@revision, taken from the Hugging Face cache or downloaded into it "
            + "(HF_HUB_CACHE or HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1 apply)",
        Required = true,
    }.Accepts("a checkpoint folder or a Hub id such as facebook/musicgen-small", model => !string.IsNullOrWhiteSpace(model));

    public static Option<string> Output(string description) => new Option<string>("--out", "-o") { Description = description, Required = true }
        .Accepts("a file name", path => !string.IsNullOrWhiteSpace(path));

    public static Option<string> Device() => new Option<string>("--device")
    {
        Description = $"Where to compute: {MusicGen.Kernels.BackendSelector.Help}",
        DefaultValueFactory = _ => "cpu",
    }.Accepts(MusicGen.Kernels.BackendSelector.Help, device => !string.IsNullOrWhiteSpace(device));

    /// <summary>--weights: the type of the linear layers' weight matrices (parsed with WeightTypes.Parse).</summary>
    public static Option<string> Weights(string defaultType) => new("--weights")
    {
        Description = $"Type of the weight matrices of the text encoder's and decoder's linear layers: f32, f16, bf16, q8 (8-bit blocks) or q4 (4-bit blocks); the codec stays f32 (default {defaultType}, or the type a checkpoint written by musicgen quantize holds)",
        DefaultValueFactory = _ => defaultType,
    };

    /// <summary>The value of <see cref="Weights"/> when it is given on the command line, else null.</summary>
    public static WeightType? GivenWeights(ParseResult parse, Option<string> weights) =>
        parse.GetResult(weights) is { Implicit: false } ? WeightTypes.Parse(parse.GetValue(weights)!) : null;

    /// <summary>--cache: the type of the decoder's key/value cache (parsed with DecoderCache.ParseType); unset, the default beside the weights.</summary>
    public static Option<string?> Cache() => new("--cache")
    {
        Description = "Type of the decoder's key/value cache: f32, f16 or q8 (8-bit blocks) (default: f32 beside f32 weights, f16 beside f16 and bf16, q8 beside q8 and q4)",
    };

    /// <summary>The value of <see cref="Cache"/>: null when not given.</summary>
    public static WeightType? CacheType(string? text) => text is null ? null : DecoderCache.ParseType(text);

    public static Option<WavSampleFormat> WavFormat() => new("--format")
    {
        Description = "Sample format of the written WAV: Float32 (exact) or Pcm16",
        DefaultValueFactory = _ => WavSampleFormat.Float32,
    };
}
