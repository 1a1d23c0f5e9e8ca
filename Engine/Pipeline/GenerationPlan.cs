using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;

namespace MusicGen.Engine;

/// <summary>
/// A request checked and resolved against a checkpoint, ready to generate, made by
/// <see cref="MusicgenPipeline.Prepare"/>: what to condition on, the sampling settings, the windows the piece is
/// generated in (one for a piece that fits the model's window) with their decoding steps, and the inputs
/// prepared (audio prompts resampled and left-padded, melodies turned into chroma). Immutable.
/// </summary>
public sealed class GenerationPlan
{
    /// <summary>
    /// A plan of inputs already prepared. Its length is <paramref name="steps"/> new steps in one window, or
    /// <paramref name="duration"/> seconds, the prompt included: in one window when it fits <paramref name="window"/>,
    /// else window by window, each <paramref name="extendStride"/> seconds after the last.
    /// </summary>
    internal GenerationPlan(IReadOnlyList<string> prompts, int batch, SamplingOptions sampling, CodebookLayout layout, int frameRate, int hopLength,
        int? steps = null, double? duration = null, double window = MusicRequest.MaxWindow, double extendStride = MusicRequest.DefaultExtendStride,
        AudioBatch? audioPrompt = null, CodesBatch? promptCodes = null, MelodyChroma? chroma = null, IReadOnlyList<float[]>? tunes = null,
        IReadOnlyList<PromptChange>? schedule = null, bool endless = false, LivePrompt? livePrompt = null)
    {
        Schedule = schedule ?? [];
        LivePrompt = livePrompt;
        (Prompts, Batch, Sampling, Layout, FrameRate, HopLength) = (prompts, batch, sampling, layout, frameRate, hopLength);
        (AudioPrompt, PromptCodes, Chroma, Tunes) = (audioPrompt, promptCodes, chroma, tunes);
        PromptFrames = PromptFramesOf(audioPrompt, promptCodes, hopLength);
        _endless = endless ? () => GenerationWindow.Endless(window, extendStride, frameRate, PromptFrames, layout) : null;
        if (_endless is not null)
        {
            Window = window;
            Windows = _endless().Take(2).ToList(); // every later window is as the second
        }
        else if (steps is null && duration is double seconds && seconds > window)
        {
            Window = window;
            Windows = GenerationWindow.Longform(seconds, window, extendStride, frameRate, PromptFrames, layout);
        }
        else
        {
            Windows = GenerationWindow.Single(PromptFrames, steps ?? layout.StepsFor(FramesIn(duration!.Value, frameRate)) - PromptFrames, layout);
        }
        Frames = Windows.Count == 0 ? PromptFrames : Windows[0].Frames + Windows.Skip(1).Sum(w => w.NewFrames);
    }

    private readonly Func<IEnumerable<GenerationWindow>>? _endless;

    /// <summary>Whether the piece goes on without end (<see cref="MusicRequest.Forever"/>): its windows come from <see cref="WindowsInOrder"/>.</summary>
    public bool IsEndless => _endless is not null;

    /// <summary>The windows in order: <see cref="Windows"/>, or for a piece without end, one after another as they are asked for.</summary>
    public IEnumerable<GenerationWindow> WindowsInOrder => _endless?.Invoke() ?? Windows;

    /// <summary>Frames of the codes of an audio prompt or of prompt codes: the codec codes every hop of samples, a last partial one included.</summary>
    internal static int PromptFramesOf(AudioBatch? audioPrompt, CodesBatch? promptCodes, int hopLength) =>
        promptCodes?.Frames ?? (audioPrompt is { } audio ? (audio.Samples + hopLength - 1) / hopLength : 0);

    /// <summary>Frames of a piece of one window of <paramref name="seconds"/>, rounded as the reference rounds a duration.</summary>
    internal static int FramesIn(double seconds, int frameRate) => (int)Math.Round(seconds * frameRate);

    /// <summary>The text descriptions, one per item; none for unconditional generation.</summary>
    public IReadOnlyList<string> Prompts { get; }

    /// <summary>The changes of the text over the piece, in order of time (<see cref="MusicRequest.Schedule"/>); none: the prompts throughout.</summary>
    public IReadOnlyList<PromptChange> Schedule { get; }

    /// <summary>The text read at the start of each window instead of the prompts and schedule (<see cref="MusicRequest.LivePrompt"/>), or null.</summary>
    public LivePrompt? LivePrompt { get; }

    /// <summary>
    /// The texts window <paramref name="window"/> is conditioned on, one per item: the live prompt's text now, else
    /// those of the latest change at or before its start, else the prompts. The generator asks as each window starts.
    /// </summary>
    public IReadOnlyList<string> PromptsAt(GenerationWindow window)
    {
        if (LivePrompt is { } live) return Enumerable.Repeat(live.Text, Batch).ToArray();
        double start = (double)window.Offset / FrameRate;
        var change = Schedule.LastOrDefault(c => c.Seconds <= start);
        return change is null ? Prompts : Enumerable.Repeat(change.Text, Batch).ToArray();
    }

    /// <summary>Items generated together.</summary>
    public int Batch { get; }

    /// <summary>The sampling settings, seed included.</summary>
    public SamplingOptions Sampling { get; }

    /// <summary>The audio channels, their codebooks and the codebooks' delays.</summary>
    public CodebookLayout Layout { get; }

    /// <summary>Codec frames per second.</summary>
    public int FrameRate { get; }

    /// <summary>Audio samples per codec frame.</summary>
    public int HopLength { get; }

    /// <summary>
    /// The windows the piece is generated in, in order: one for a piece that fits the model's window. For a piece
    /// without end, its first two (every later one is as the second; <see cref="WindowsInOrder"/> gives them all),
    /// and the steps, frames and samples are theirs.
    /// </summary>
    public IReadOnlyList<GenerationWindow> Windows { get; }

    /// <summary>Whether the piece is longer than one window (generated as audiocraft extends a piece).</summary>
    public bool IsLongform => Window is not null;

    /// <summary>Seconds of each window of a long piece; null for a piece of one window.</summary>
    public double? Window { get; }

    /// <summary>Decoding steps, over every window.</summary>
    public int Steps => Windows.Sum(w => w.Steps);

    /// <summary>Frames of the codes that come from the prompt (audio or codes), at the start of the piece.</summary>
    public int PromptFrames { get; }

    /// <summary>Frames of the codes of each item, the prompt's included.</summary>
    public int Frames { get; }

    /// <summary>Audio samples of each item, the left padding of a shorter audio prompt included.</summary>
    public int Samples => Frames * HopLength;

    /// <summary>Per item, the samples of left padding its audio prompt got to match the longest (cut from its audio).</summary>
    public IReadOnlyList<int> Starts => AudioPrompt?.Starts ?? new int[Batch];

    /// <summary>Audio samples of item <paramref name="item"/> without its padding.</summary>
    public int SamplesOf(int item) => Samples - Math.Min(Starts[item], Samples);

    /// <summary>Audio to continue, [B, C, S] at the codec's rate, left-padded to the longest (its Starts say how far).</summary>
    public AudioBatch? AudioPrompt { get; }

    /// <summary>Codes to continue instead of audio, [B, C, K', F].</summary>
    public CodesBatch? PromptCodes { get; }

    /// <summary>The chroma a melody model follows over a piece of one window.</summary>
    internal MelodyChroma? Chroma { get; }

    /// <summary>A long piece's melodies (mono, at the chroma extractor's rate), whose chroma each window takes from its own offset.</summary>
    internal IReadOnlyList<float[]>? Tunes { get; }
}
