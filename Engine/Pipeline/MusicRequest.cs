using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;

namespace MusicGen.Engine;

/// <summary>
/// What to generate. Every setting left null takes the checkpoint's <c>generation_config.json</c> value. Audio
/// prompts and melodies are given as one clip for every item or one per item, at any sample rate and channel
/// count (they are resampled and mixed as the reference's processor does). <see cref="MusicgenPipeline.Prepare"/>
/// checks it and turns it into a <see cref="GenerationPlan"/>; a refusal is an <see cref="InvalidRequestException"/>
/// naming the property at fault.
/// </summary>
public sealed record MusicRequest
{
    /// <summary>The longest window MusicGen generates at once, the length it was trained on; longer pieces go window by window.</summary>
    public const double MaxWindow = 30;

    /// <summary>The longest piece a request may ask for.</summary>
    public const double MaxDuration = 3600;

    /// <summary>Seconds between the starts of the windows of a long piece unless a request says otherwise: audiocraft's extend_stride.</summary>
    public const double DefaultExtendStride = 18;

    /// <summary>The most tokens a prompt may have: the T5 tokenizer's model_max_length in MusicGen checkpoints.</summary>
    public const int MaxPromptTokens = 512;

    /// <summary>Text descriptions, one item each. None: unconditional generation of <see cref="Samples"/> items.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = [];

    /// <summary>Items to generate without text (default 1, or one per audio prompt or melody); only without prompts.</summary>
    public int? Samples { get; init; }

    /// <summary>
    /// Seconds of audio per item, an audio prompt included (default: the checkpoint's length). Up to an hour: beyond
    /// <see cref="Window"/> the piece is generated window by window, as audiocraft extends it.
    /// </summary>
    public double? Duration { get; init; }

    /// <summary>Seconds of each window of a long piece (default: the model's 30 s; smaller ones are for tests and experiments).</summary>
    public double? Window { get; init; }

    /// <summary>Seconds by which each window of a long piece starts after the previous one (default 18, audiocraft's extend_stride).</summary>
    public double? ExtendStride { get; init; }

    /// <summary>New decoding steps instead of <see cref="Duration"/> (frames + codebooks − 1).</summary>
    public int? Steps { get; init; }

    /// <summary>The sampler's seed; the same seed gives the same music (default: a random one, reported in the result).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Take the most likely code at every step instead of sampling.</summary>
    public bool Greedy { get; init; }

    /// <summary>Sample among the k most likely codes (0: all).</summary>
    public int? TopK { get; init; }

    /// <summary>Sample among the most likely codes that make up this probability.</summary>
    public double? TopP { get; init; }

    /// <summary>Softmax temperature.</summary>
    public double? Temperature { get; init; }

    /// <summary>Classifier-free guidance scale; ≤ 1 turns it off.</summary>
    public double? Guidance { get; init; }

    /// <summary>Audio to continue; the result starts with it (re-decoded), as the reference returns it.</summary>
    public IReadOnlyList<AudioClip> AudioPrompts { get; init; } = [];

    /// <summary>Codes to continue instead of audio, [items, channels, codebooks, frames], such as a previous result's.</summary>
    public CodesBatch? PromptCodes { get; init; }

    /// <summary>Tunes whose chroma a melody checkpoint follows, at most 30 s each.</summary>
    public IReadOnlyList<AudioClip> Melodies { get; init; } = [];

    /// <summary>A request for one item per text description, with the checkpoint's defaults.</summary>
    public static MusicRequest FromText(params string[] prompts) => new() { Prompts = prompts };

    /// <summary>Pieces the request makes: one per prompt, else the samples asked, else one per audio prompt, melody or item of the prompt codes.</summary>
    public int Items => Prompts.Count > 0 ? Prompts.Count
        : Samples ?? Math.Max(PromptCodes?.Batch ?? 1, Math.Max(AudioPrompts.Count, Melodies.Count));

    /// <summary>
    /// Checks what needs no model: the counts, the prompts' text, the length and the windows, within
    /// <paramref name="limits"/> (default: the engine's own). <see cref="MusicgenPipeline.Prepare"/> runs it first;
    /// a caller may run it before loading a model, to refuse a request sooner.
    /// </summary>
    /// <exception cref="InvalidRequestException">A field is out of range, naming it.</exception>
    public void Validate(RequestLimits? limits = null)
    {
        limits ??= RequestLimits.Engine;
        if (Prompts.Count > 0 && Samples is not null)
            throw new InvalidRequestException(nameof(Samples), "{Samples} are for unconditional generation; with {Prompts}, each prompt is one piece");
        if (Items < 1) throw new InvalidRequestException(nameof(Samples), $"{{Samples}} {Items}: at least one piece is needed");
        string itemsField = Prompts.Count > 0 ? nameof(Prompts) : nameof(Samples);
        if (Items > limits.MaxItems)
            throw new InvalidRequestException(itemsField, $"{Items} pieces asked ({{{itemsField}}}); at most {limits.MaxItems} are generated together");
        for (int i = 0; i < Prompts.Count; i++)
        {
            string which = Prompts.Count == 1 ? "" : $" number {i + 1}";
            if (string.IsNullOrWhiteSpace(Prompts[i])) throw new InvalidRequestException(nameof(Prompts), $"{{Prompts}}{which} is empty: describe the music");
            if (Prompts[i].Length > limits.MaxPromptChars)
                throw new InvalidRequestException(nameof(Prompts), $"{{Prompts}}{which} is {Prompts[i].Length} characters long; at most {limits.MaxPromptChars}");
        }
        CheckPerItem(AudioPrompts, nameof(AudioPrompts));
        CheckPerItem(Melodies, nameof(Melodies));
        if (AudioPrompts.Count > 0 && PromptCodes is not null)
            throw new InvalidRequestException(nameof(AudioPrompts), "give {AudioPrompts} or {PromptCodes}, not both");
        if (Steps is int steps)
        {
            if (Duration is not null) throw new InvalidRequestException(nameof(Steps), "give {Duration} or {Steps}, not both");
            if (steps < 1) throw new InvalidRequestException(nameof(Steps), $"{{Steps}} {steps}: at least one decoding step is needed");
        }
        // Window and stride are checked whenever either is given, so that a setting never goes unnoticed on a short piece.
        if (Duration is double duration && !(duration > 0 && duration <= limits.MaxDuration))
            throw new InvalidRequestException(nameof(Duration), $"{{Duration}} {duration} s must be more than 0 and at most {limits.MaxDuration:0.##} s{(limits.MaxDuration == MaxDuration ? " (an hour)" : "")}");
        double window = Window ?? MaxWindow;
        if (!(window > 0 && window <= MaxWindow))
            throw new InvalidRequestException(nameof(Window), $"{{Window}} {window} s must be more than 0 and at most the model's {MaxWindow:0.#} s");
        double stride = ExtendStride ?? DefaultExtendStride;
        if ((ExtendStride is not null || Window is not null) && !(stride > 0 && stride < window))
            throw new InvalidRequestException(nameof(ExtendStride), $"{{ExtendStride}} {stride} s must be more than 0 and less than the window ({window:0.##} s)");
    }

    private void CheckPerItem(IReadOnlyList<AudioClip> clips, string field)
    {
        if (clips.Count > 1 && clips.Count != Items)
            throw new InvalidRequestException(field, $"give one {{{field}}} for every piece or one per piece; got {clips.Count} for {Items}");
    }
}

/// <summary>
/// Limits a caller sets on requests beyond the engine's own (a server's, for example): <see cref="MusicRequest.Validate"/>
/// and <see cref="MusicgenPipeline.Prepare"/> refuse a request past them, naming its field.
/// </summary>
/// <param name="MaxDuration">The longest piece, in seconds (at most <see cref="MusicRequest.MaxDuration"/>).</param>
/// <param name="MaxItems">The most pieces generated together.</param>
/// <param name="MaxPromptChars">The longest prompt in characters (the text encoder's token limit applies as well).</param>
public sealed record RequestLimits(double MaxDuration = MusicRequest.MaxDuration, int MaxItems = int.MaxValue, int MaxPromptChars = int.MaxValue)
{
    /// <summary>The engine's own limits and nothing more.</summary>
    public static RequestLimits Engine { get; } = new();
}
