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

    /// <summary>
    /// Generate without end, window after window (each <see cref="ExtendStride"/> after the last), until cancelled or
    /// the sink fails: instead of <see cref="Duration"/> and <see cref="Steps"/>. Memory stays that of one window; only
    /// a sink that streams (<see cref="GenerationSink.ChunkFrames"/>) gets audio.
    /// </summary>
    public bool Forever { get; init; }

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

    /// <summary>
    /// Changes of the text over a long piece, in order of time: each window is conditioned on the text of the
    /// latest change at or before its start (in seconds of the piece, an audio prompt included), the
    /// <see cref="Prompts"/> before the first. One schedule for every item: a change gives all items its text.
    /// </summary>
    public IReadOnlyList<PromptChange> Schedule { get; init; } = [];

    /// <summary>
    /// A text that may change while the piece is generated, instead of <see cref="Prompts"/> and <see cref="Schedule"/>:
    /// one item, each window conditioned on the text it holds at the window's start. Its text when the request is
    /// prepared is checked as a prompt (naming {Prompts}).
    /// </summary>
    public LivePrompt? LivePrompt { get; init; }

    /// <summary>A request for one item per text description, with the checkpoint's defaults.</summary>
    public static MusicRequest FromText(params string[] prompts) => new() { Prompts = prompts };

    /// <summary>Pieces the request makes: one per prompt, else the samples asked, else one per audio prompt, melody or item of the prompt codes.</summary>
    public int Items => LivePrompt is not null ? 1 : Prompts.Count > 0 ? Prompts.Count
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
        if (LivePrompt is not null)
        {
            if (Prompts.Count > 0 || Samples is not null || Schedule.Count > 0)
                throw new InvalidRequestException(nameof(LivePrompt), "{LivePrompt} is the text of one piece throughout; give no {Prompts}, {Samples} or {Schedule} with it");
            WithLiveText().Validate(limits);
            return;
        }
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
        CheckSchedule(limits);
        CheckPerItem(AudioPrompts, nameof(AudioPrompts));
        CheckPerItem(Melodies, nameof(Melodies));
        if (AudioPrompts.Count > 0 && PromptCodes is not null)
            throw new InvalidRequestException(nameof(AudioPrompts), "give {AudioPrompts} or {PromptCodes}, not both");
        if (Steps is int steps)
        {
            if (Duration is not null) throw new InvalidRequestException(nameof(Steps), "give {Duration} or {Steps}, not both");
            if (steps < 1) throw new InvalidRequestException(nameof(Steps), $"{{Steps}} {steps}: at least one decoding step is needed");
        }
        if (Forever && (Duration is not null || Steps is not null))
            throw new InvalidRequestException(nameof(Forever), $"{{Forever}} generates until stopped; give no {{{(Duration is null ? nameof(Steps) : nameof(Duration))}}}");
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

    /// <summary>The request with its <see cref="LivePrompt"/>'s text now as its prompt: what is checked of it.</summary>
    internal MusicRequest WithLiveText() => LivePrompt is { } live ? this with { LivePrompt = null, Prompts = [live.Text] } : this;

    /// <summary>A schedule changes the text of a piece of a known length: in order, within it, each text a prompt's.</summary>
    private void CheckSchedule(RequestLimits limits)
    {
        if (Schedule.Count == 0) return;
        if (Prompts.Count == 0) throw new InvalidRequestException(nameof(Schedule), "{Schedule} changes the text of a piece; give {Prompts} to start with");
        if ((Forever ? double.PositiveInfinity : Duration) is not double duration)
            throw new InvalidRequestException(nameof(Schedule), "{Schedule} changes the text of a long piece; give its {Duration}");
        for (int i = 0; i < Schedule.Count; i++)
        {
            var (seconds, text) = Schedule[i];
            string which = $"{{Schedule}} change number {i + 1} (at {seconds:0.###} s)";
            if (!(seconds >= 0 && seconds < duration))
                throw new InvalidRequestException(nameof(Schedule), $"{which} must be at 0 s or later and before the end of the piece ({{Duration}} {duration:0.###} s)");
            if (seconds == 0 && i > 0) throw new InvalidRequestException(nameof(Schedule), $"{which}: only the first change may be at 0 s (it replaces the first text)");
            if (i > 0 && seconds <= Schedule[i - 1].Seconds)
                throw new InvalidRequestException(nameof(Schedule), $"{which} must come after the one before (at {Schedule[i - 1].Seconds:0.###} s)");
            if (string.IsNullOrWhiteSpace(text)) throw new InvalidRequestException(nameof(Schedule), $"{which} has no text: describe the music");
            if (text.Length > limits.MaxPromptChars)
                throw new InvalidRequestException(nameof(Schedule), $"{which} is {text.Length} characters long; at most {limits.MaxPromptChars}");
        }
    }

    private void CheckPerItem(IReadOnlyList<AudioClip> clips, string field)
    {
        if (clips.Count > 1 && clips.Count != Items)
            throw new InvalidRequestException(field, $"give one {{{field}}} for every piece or one per piece; got {clips.Count} for {Items}");
    }
}

/// <summary>A change of a piece's text at <paramref name="Seconds"/> into it (an audio prompt included) to <paramref name="Text"/>.</summary>
public sealed record PromptChange(double Seconds, string Text);

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
