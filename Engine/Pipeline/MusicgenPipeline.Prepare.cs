using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;

namespace MusicGen.Engine;

public sealed partial class MusicgenPipeline
{
    /// <summary>
    /// Checks a request against the model and prepares its inputs, so that every mistake in it is reported, naming
    /// its field, before the generation starts: this is where requests are checked. <paramref name="limits"/> adds a
    /// caller's own limits to the engine's.
    /// </summary>
    /// <exception cref="InvalidRequestException">The request asks what the model cannot do.</exception>
    public GenerationPlan Prepare(MusicRequest request, RequestLimits? limits = null) =>
        MusicGenException.Refine(() => PrepareChecked(request, limits ?? RequestLimits.Engine), AsRequestError);

    private GenerationPlan PrepareChecked(MusicRequest request, RequestLimits limits)
    {
        request.Validate(limits);
        var livePrompt = request.LivePrompt;
        request = request.WithLiveText(); // a live prompt's text now is checked as a prompt
        int batch = request.Items;
        CheckTokens(request.Prompts, nameof(MusicRequest.Prompts));
        CheckTokens(request.Schedule.Select(change => change.Text).ToList(), nameof(MusicRequest.Schedule));
        var sampling = Sampling(request);
        var audioPrompt = request.AudioPrompts.Count > 0 ? AudioPromptOf(request.AudioPrompts, batch) : null;
        if (request.PromptCodes is { } codes) CheckPromptCodes(codes, batch);
        double window = request.Window ?? MusicRequest.MaxWindow;
        bool longform = request.Forever || (request.Steps is null && request.Duration > window);
        var tunes = request.Melodies.Count > 0 ? MelodyWaveforms(request.Melodies, batch, longform) : null;
        int promptFrames = GenerationPlan.PromptFramesOf(audioPrompt, request.PromptCodes, HopLength);
        var generation = _checkpoint.Generation;
        int? steps = request.Steps ?? (request.Duration is null && !request.Forever ? generation.MaxNewTokens ?? (generation.MaxLength ?? 1500) - 1 - promptFrames : null);
        var plan = new GenerationPlan(request.Prompts, batch, sampling, _generator.Layout, FrameRate, HopLength, steps, request.Duration, window,
            request.ExtendStride ?? MusicRequest.DefaultExtendStride, audioPrompt, request.PromptCodes,
            chroma: tunes is null || longform ? null : Chroma(tunes), tunes: longform ? tunes : null, schedule: request.Schedule, endless: request.Forever,
            livePrompt: livePrompt);
        CheckLength(plan, request);
        return plan;
    }

    /// <summary>Frames of a piece of one window of this many seconds.</summary>
    private int FramesIn(double seconds) => GenerationPlan.FramesIn(seconds, FrameRate);

    /// <summary>Audio samples per codec frame.</summary>
    private int HopLength => _model.Config.AudioEncoder.HopLength;

    /// <summary>The most positions a window may span, its prompt included: 30 s of frames, within the decoder's position table.</summary>
    private int MaxSteps => Math.Min(StepsFor(MusicRequest.MaxWindow), _model.Config.Decoder.MaxPositionEmbeddings - _model.ConditioningPositions);

    /// <summary>Refuses a piece that leaves nothing to generate or more than a window holds.</summary>
    private void CheckLength(GenerationPlan plan, MusicRequest request)
    {
        string prompt = request.PromptCodes is null ? nameof(MusicRequest.AudioPrompts) : nameof(MusicRequest.PromptCodes);
        double promptSeconds = (double)plan.PromptFrames / FrameRate;
        if (plan.IsLongform)
        {
            if (plan.PromptFrames >= plan.Window!.Value * FrameRate)
                throw new InvalidRequestException(prompt, $"{{{prompt}}} ({promptSeconds:0.00} s) must be shorter than the window ({plan.Window:0.##} s) of a piece longer than one window");
            if (plan.Windows.Count == 0)
                throw new InvalidRequestException(nameof(MusicRequest.Duration), $"{{Duration}} {request.Duration} s is no longer than {{{prompt}}}; nothing is left to generate");
        }
        else if (request.Duration is double seconds)
        {
            if (FramesIn(seconds) < 1)
                throw new InvalidRequestException(nameof(MusicRequest.Duration), $"{{Duration}} {seconds} s is shorter than one codec frame (1/{FrameRate} s)");
            if (plan.Steps < 1)
                throw new InvalidRequestException(nameof(MusicRequest.Duration), $"{{Duration}} {seconds} s leaves nothing to generate after {{{prompt}}} ({promptSeconds:0.00} s)");
        }
        else if (plan.Steps < 1)
        {
            throw new InvalidRequestException(prompt, $"{{{prompt}}} ({promptSeconds:0.00} s) leaves nothing to generate in the model's default length; give a longer {{Duration}}");
        }
        // A change after the last window starts would change nothing: no window starts with its text.
        double lastStart = (double)plan.Windows[^1].Offset / FrameRate;
        if (plan.Schedule.Count > 0 && !plan.IsEndless && plan.Schedule[^1].Seconds > lastStart)
            throw new InvalidRequestException(nameof(MusicRequest.Schedule), plan.IsLongform
                ? $"{{Schedule}}'s change at {plan.Schedule[^1].Seconds:0.###} s comes after the last window starts ({lastStart:0.###} s); it would change nothing"
                : $"{{Schedule}} changes the text at window starts; this piece is one window (longer than its {{Window}}, it is generated window by window)");
        string length = request.Steps is null ? nameof(MusicRequest.Duration) : nameof(MusicRequest.Steps);
        foreach (var window in plan.Windows)
            if (window.PromptFrames + window.Steps > MaxSteps)
                throw new InvalidRequestException(length, window.PromptFrames > 0
                    ? $"{{{length}}} and {{{prompt}}} ({window.PromptFrames / (double)FrameRate:0.00} s) make {window.PromptFrames + window.Steps} steps, but this model generates at most {MusicRequest.MaxWindow:0.#} s ({MaxSteps} steps) at a time, its prompt included"
                    : $"{{{length}}} {window.Steps} is more than this model generates at a time: at most {MusicRequest.MaxWindow:0.#} s ({MaxSteps} steps); longer pieces are generated window by window from a {{Duration}}");
    }

    /// <summary>Refuses a text of <paramref name="field"/> longer than the text encoder takes.</summary>
    private void CheckTokens(IReadOnlyList<string> texts, string field)
    {
        for (int i = 0; i < texts.Count; i++)
        {
            int tokens = _tokenizer.Encode(texts[i]).Length;
            if (tokens > MusicRequest.MaxPromptTokens)
                throw new InvalidRequestException(field,
                    $"{{{field}}}{(texts.Count == 1 ? "" : $" number {i + 1}")} is {tokens} tokens long; the text encoder takes at most {MusicRequest.MaxPromptTokens}");
        }
    }

    /// <summary>The checkpoint's generation_config.json, overridden by the request.</summary>
    private SamplingOptions Sampling(MusicRequest request)
    {
        var defaults = SamplingOptions.FromGenerationConfig(_checkpoint.Generation, request.Seed ?? (ulong)Random.Shared.NextInt64(0, int.MaxValue));
        var sampling = defaults with
        {
            Greedy = request.Greedy || defaults.Greedy,
            GuidanceScale = request.Guidance ?? defaults.GuidanceScale,
            TopK = request.TopK ?? defaults.TopK,
            TopP = request.TopP ?? defaults.TopP,
            Temperature = request.Temperature ?? defaults.Temperature,
        };
        sampling.Validate();
        return sampling;
    }

    /// <summary>The audio prompts at the codec's rate and the model's channels, left-padded as MusicgenProcessor does.</summary>
    private AudioBatch AudioPromptOf(IReadOnlyList<AudioClip> clips, int batch)
    {
        if (!AcceptsAudioPrompts)
            throw new InvalidRequestException(nameof(MusicRequest.AudioPrompts),
                "continuing audio ({AudioPrompts}) is not available for melody checkpoints (as in the reference); use a text-to-music checkpoint");
        var prompt = AudioBatch.LeftPadded(PerItem(clips, batch).Select(clip => clip.Convert(SampleRate, Channels)).ToArray());
        if (prompt.Samples < HopLength)
            throw new InvalidRequestException(nameof(MusicRequest.AudioPrompts),
                $"{{AudioPrompts}} is {prompt.Samples} samples, shorter than one codec frame ({HopLength} samples)");
        return prompt;
    }

    /// <summary>Refuses codes to continue that are not of this model's items, channels and codebooks.</summary>
    private void CheckPromptCodes(CodesBatch codes, int batch)
    {
        var layout = _generator.Layout;
        if (codes.Batch != batch || codes.Channels != layout.Channels || codes.Codebooks != layout.CodebooksPerChannel)
            throw new InvalidRequestException(nameof(MusicRequest.PromptCodes),
                $"{{PromptCodes}} [{string.Join(", ", codes.Shape)}] do not fit {batch} item(s) of {layout.Channels} channel(s) × {layout.CodebooksPerChannel} codebooks");
    }

    /// <summary>The tunes, mono at the chroma extractor's rate; at most 30 s each unless the piece is long (each window takes its part).</summary>
    private IReadOnlyList<float[]> MelodyWaveforms(IReadOnlyList<AudioClip> clips, int batch, bool longform)
    {
        if (!AcceptsMelodies)
            throw new InvalidRequestException(nameof(MusicRequest.Melodies),
                $"following a melody ({{Melodies}}) needs a melody checkpoint (such as facebook/musicgen-melody); {Folder} is {_checkpoint.ModelType}");
        var extractor = _chroma.Value;
        if (extractor.NumChroma != _model.Config.NumChroma)
            throw new CheckpointException($"{Folder}: the melody feature extractor makes {extractor.NumChroma} chroma bins, the model takes {_model.Config.NumChroma}");
        var waveforms = new List<float[]>();
        foreach (var (clip, i) in PerItem(clips, batch).Select((c, i) => (c, i)))
        {
            var waveform = extractor.MonoWaveform(clip);
            string which = clips.Count == 1 ? "" : $" number {i + 1}";
            if (waveform.Length > extractor.MaxSamples && !longform)
                throw new InvalidRequestException(nameof(MusicRequest.Melodies),
                    $"{{Melodies}}{which} is {(double)waveform.Length / extractor.SampleRate:0.0} s; this model follows at most {extractor.MaxSamples / extractor.SampleRate} s");
            if (waveform.Length < extractor.HopLength)
                throw new InvalidRequestException(nameof(MusicRequest.Melodies),
                    $"{{Melodies}}{which} is {waveform.Length} samples, too short for one chroma frame ({extractor.HopLength} samples)");
            if (waveform.All(v => v == 0f)) throw new InvalidRequestException(nameof(MusicRequest.Melodies), $"{{Melodies}}{which} is silent; it has no pitch to follow");
            waveforms.Add(waveform);
        }
        return waveforms;
    }

    /// <summary>The one-hot chroma of the tunes, as the melody feature extractor computes it.</summary>
    private MelodyChroma Chroma(IReadOnlyList<float[]> waveforms)
    {
        var extractor = _chroma.Value;
        var oneHot = extractor.Extract(waveforms, out int frames);
        return new MelodyChroma(waveforms.Count, frames, extractor.NumChroma, oneHot);
    }

    /// <summary>One clip for every item, or one per item (<see cref="MusicRequest.Validate"/> checked the count).</summary>
    private static IReadOnlyList<AudioClip> PerItem(IReadOnlyList<AudioClip> clips, int batch) =>
        clips.Count == 1 ? Enumerable.Repeat(clips[0], batch).ToArray() : clips;
}
