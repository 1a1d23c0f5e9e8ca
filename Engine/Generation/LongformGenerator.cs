using MusicGen.Loaders;

namespace MusicGen.Engine.Generation;

/// <summary>
/// How a piece longer than the model's window is cut: Duration seconds in all, windows of Window seconds, each
/// starting ExtendStride seconds after the previous one (audiocraft's extend_stride, default 18 s).
/// </summary>
public sealed record LongformOptions(double Duration, double Window = MusicgenGenerator.MaxSeconds, double ExtendStride = LongformOptions.DefaultExtendStride)
{
    public const double DefaultExtendStride = 18;

    /// <summary>The longest piece generate accepts.</summary>
    public const double MaxDuration = 3600;

    /// <summary>Throws a one-line error unless 0 &lt; stride &lt; window ≤ the model's limit and 0 &lt; duration ≤ an hour.</summary>
    public void Validate(double modelLimit)
    {
        if (!(Duration > 0) || Duration > MaxDuration) throw new MusicGenException($"--duration {Duration} s must be more than 0 and at most {MaxDuration:0} s (an hour)");
        if (!(Window > 0) || Window > modelLimit) throw new MusicGenException($"--window {Window} s must be more than 0 and at most the model's {modelLimit:0.#} s");
        if (!(ExtendStride > 0) || ExtendStride >= Window) throw new MusicGenException($"--extend-stride {ExtendStride} s must be more than 0 and less than the window ({Window:0.##} s)");
    }
}

/// <summary>
/// One window of a long piece, in frames: it starts Offset frames into the piece (audio prompt included), is
/// Frames long, and its first PromptFrames are the end of the previous window (or the audio prompt).
/// </summary>
public sealed record LongformWindow(int Offset, int PromptFrames, int Frames)
{
    public int NewFrames => Math.Max(0, Frames - PromptFrames);
}

/// <summary>
/// Long-form generation as audiocraft does it (audiocraft/models/genmodel.py, BaseGenModel._generate_tokens, the
/// branch for duration &gt; max_duration): generate a window, keep its last (window − stride) seconds of codes as
/// the prompt of the next window, with the same conditioning, append only the new frames, advance by the
/// stride, until the piece is long enough. The window arithmetic is audiocraft's, to the frame.
/// </summary>
public sealed class LongformGenerator(MusicgenGenerator generator, int frameRate, int channelCodebooks, int sampleRate)
{
    /// <summary>
    /// audiocraft's windows, computed without generating: total = int(duration · frame rate); window k starts at
    /// offset k · int(frame rate · stride) and is int(min(duration − offset / frame rate, window) · frame rate)
    /// frames long, its prompt included; the loop runs while offset + prompt length &lt; total.
    /// </summary>
    public static IReadOnlyList<LongformWindow> Plan(LongformOptions options, int frameRate, int initialPromptFrames)
    {
        int totalGenLen = (int)(options.Duration * frameRate);
        int strideTokens = (int)(frameRate * options.ExtendStride);
        int currentGenOffset = 0, promptLength = initialPromptFrames;
        var windows = new List<LongformWindow>();
        while (currentGenOffset + promptLength < totalGenLen)
        {
            double timeOffset = (double)currentGenOffset / frameRate;
            double chunkDuration = Math.Min(options.Duration - timeOffset, options.Window);
            int maxGenLen = (int)(chunkDuration * frameRate);
            windows.Add(new LongformWindow(currentGenOffset, promptLength, maxGenLen));
            promptLength = Math.Max(0, Math.Max(maxGenLen, promptLength) - strideTokens); // gen_tokens[:, :, stride_tokens:]
            currentGenOffset += strideTokens;
        }
        return windows;
    }

    /// <summary>
    /// Generates the whole piece for the request's prompts (its MaxNewTokens is ignored; its audio prompt, if any,
    /// starts the first window). onStep hears (steps done, steps in all) over the whole piece; onFrames hears each
    /// frame of the piece once, in order, as soon as it is complete; melodyAt gives a melody model the chroma of
    /// a window from the sample at which it starts (see <see cref="MelodyWindow"/>).
    /// </summary>
    public GenerationResult Generate(GenerationRequest request, LongformOptions options, Action<int, int>? onStep = null,
        FramesHandler? onFrames = null, Func<int, MelodyChroma>? melodyAt = null)
    {
        options.Validate(MusicgenGenerator.MaxSeconds);
        int hop = sampleRate / frameRate;
        int initialPrompt = request.AudioPrompt is { } audio ? (audio.Length + hop - 1) / hop : 0;
        var windows = Plan(options, frameRate, initialPrompt);
        if (windows.Count == 0) throw new MusicGenException($"{options.Duration} s is no longer than the audio prompt; nothing to generate");
        int stepsInAll = windows.Sum(w => StepsOf(w)), stepsBefore = 0;
        int strideTokens = (int)(frameRate * options.ExtendStride);

        var pieces = new List<(int[] Codes, int Frames)>();
        GenerationResult? last = null;
        int[]? previous = null; // gen_tokens of the last window, [B, K, frames]
        int previousFrames = 0, rows = 0;
        foreach (var window in windows)
        {
            int[]? prompt = previous is null ? null : KeepFrames(previous, rows, previousFrames, strideTokens, window.PromptFrames);
            if (window.NewFrames == 0)
            {
                // Every frame is the prompt's: the reference's generate returns the prompt unchanged.
                (previous, previousFrames) = (prompt!, window.PromptFrames);
                continue;
            }
            var windowRequest = request with
            {
                MaxNewTokens = StepsOf(window),
                AudioPrompt = previous is null ? request.AudioPrompt : null,
                CodePrompt = prompt is null ? null : new CodePrompt(window.PromptFrames, prompt),
                Melody = melodyAt?.Invoke((int)((double)window.Offset / frameRate * sampleRate)) ?? request.Melody,
            };
            // The first window reports all its frames (an audio prompt's too: the piece starts with it); later ones their new frames.
            int reportFrom = previous is null ? 0 : window.PromptFrames;
            FramesHandler? report = onFrames is null ? null : (codes, first, count) =>
            {
                int skip = Math.Max(0, reportFrom - first);
                if (skip >= count) return;
                onFrames(skip == 0 ? codes : KeepFrames(codes, codes.Length / count, count, skip, count - skip), window.Offset + first + skip, count - skip);
            };
            int before = stepsBefore;
            last = generator.Generate(windowRequest, onStep is null ? null : (done, _) => onStep(before + done, stepsInAll), onFrames: report);
            stepsBefore += StepsOf(window);
            rows = last.Batch * last.Codebooks;
            pieces.Add((reportFrom == 0 ? last.Codes : KeepFrames(last.Codes, rows, last.Frames, reportFrom, last.Frames - reportFrom), last.Frames - reportFrom));
            (previous, previousFrames) = (last.Codes, last.Frames);
        }

        int frames = pieces.Sum(p => p.Frames);
        var all = new int[rows * frames]; // [B, K, frames]
        int at = 0;
        foreach (var (codes, count) in pieces)
        {
            for (int row = 0; row < rows; row++) codes.AsSpan(row * count, count).CopyTo(all.AsSpan(row * frames + at));
            at += count;
        }
        return new GenerationResult(last!.Batch, last.Codebooks, frames, all, last.SequenceLength, last.DelayedIds, initialPrompt);
    }

    /// <summary>Decoder steps of a window: one per new frame, plus the delay of the last codebook.</summary>
    private int StepsOf(LongformWindow window) => window.NewFrames == 0 ? 0 : window.NewFrames + channelCodebooks - 1;

    /// <summary>Frames [start, start + count) of codes [rows, frames].</summary>
    private static int[] KeepFrames(int[] codes, int rows, int frames, int start, int count)
    {
        var kept = new int[rows * count];
        for (int row = 0; row < rows; row++) codes.AsSpan(row * frames + start, count).CopyTo(kept.AsSpan(row * count));
        return kept;
    }

    /// <summary>
    /// The melody a window follows, as audiocraft's MusicGen._generate_tokens wraps it: the samples
    /// [start, start + window length) of the tune, indices taken modulo its length (so a short tune repeats).
    /// </summary>
    public static float[] MelodyWindow(float[] tune, int start, int length)
    {
        var window = new float[length];
        for (int i = 0; i < length; i++) window[i] = tune[(int)(((long)start + i) % tune.Length)];
        return window;
    }
}
