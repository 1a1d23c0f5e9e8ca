using System.CommandLine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders.Adapters;
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

    /// <summary>--adapter, repeatable: PEFT LoRA adapters merged into the model's weights when it is loaded.</summary>
    public static Option<string[]> Adapters() => new Option<string[]>("--adapter")
    {
        Description = "A PEFT LoRA adapter to merge into the model when it is loaded: its folder (adapter_config.json, adapter_model.safetensors) "
            + "or Hub id (owner/name[@revision]), optionally followed by :SCALE, a factor for its deltas (default 1); repeat it for several, merged in order",
        AllowMultipleArgumentsPerToken = false,
    }.EachAccepts($"an adapter folder or Hub id, optionally followed by :SCALE with SCALE a number from -{AdapterReference.MaxScale} to {AdapterReference.MaxScale}",
        text => AdapterReference.TryParse(text, out _));

    /// <summary>The adapters an --adapter option gave, in order.</summary>
    public static IReadOnlyList<AdapterReference> AdapterList(string[]? values) => (values ?? []).Select(AdapterReference.Parse).ToList();

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

    /// <summary>--format: the sample format, where the output's format has a choice (checked by <see cref="AudioOutput.Resolve"/>).</summary>
    public static Option<SampleFormat?> SampleFormat() => new("--format")
    {
        Description = "Sample format where the output format has a choice: WAV Float32 (exact; default), Pcm16 or Pcm24; FLAC Pcm24 (default) or Pcm16; Opus, MP3 and AAC have none",
    };

    /// <summary>--normalize: audiocraft's audio_write strategies; unset, the command's default.</summary>
    public static Option<Normalization?> Normalize(string defaultText) => new("--normalize")
    {
        Description = $"Scale the audio before writing it, as audiocraft's audio_write does: None, Peak (highest sample at -1 dBFS) or Loudness (-14 LUFS integrated, never a sample above -1 dBFS) ({defaultText})",
    };

    /// <summary>--out for audio: a file whose extension names a format audio is written in.</summary>
    public static Option<string> AudioFileOutput(string description) => Output(description)
        .Accepts($"an audio file name ({Engine.Audio.AudioFormat.KnownExtensions})", path => Engine.Audio.AudioFormat.FromExtension(path) is not null);
}
