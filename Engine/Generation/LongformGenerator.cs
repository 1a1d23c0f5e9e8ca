using MusicGen.Engine.Codec;
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
public sealed class LongformGenerator(MusicgenGenerator generator, int frameRate, int sampleRate)
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

    /// <summary>Decoding steps of the whole piece: per window, one per new frame plus the delay of the last codebook.</summary>
    public int StepsOf(IReadOnlyList<LongformWindow> windows) => windows.Sum(StepsOf);

    private int StepsOf(LongformWindow window) => window.NewFrames == 0 ? 0 : window.NewFrames + generator.Layout.CodebooksPerChannel - 1;

    /// <summary>
    /// Generates the whole piece for the request's prompts (its MaxNewTokens is ignored; its audio prompt, if any,
    /// starts the first window), reporting progress over the whole piece. onFrames hears each frame of the piece
    /// once, in order, as soon as it is complete; melodyAt gives a melody model the chroma of a window from the
    /// sample at which the window starts (see <see cref="MelodyWindow"/>).
    /// </summary>
    public GenerationResult Generate(GenerationRequest request, LongformOptions options, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default, FramesHandler? onFrames = null, Func<int, MelodyChroma>? melodyAt = null)
    {
        options.Validate(MusicgenGenerator.MaxSeconds);
        int hop = sampleRate / frameRate;
        int initialPrompt = request.PromptCodes?.Frames ?? (request.AudioPrompt is { } audio ? (audio.Length + hop - 1) / hop : 0);
        var windows = Plan(options, frameRate, initialPrompt);
        if (windows.Count == 0) throw new MusicGenException($"{options.Duration} s is no longer than the audio prompt; nothing to generate");
        int strideTokens = (int)(frameRate * options.ExtendStride);
        var wholePiece = new PieceProgress(progress, StepsOf(windows));

        var pieces = new List<CodesBatch>();
        GenerationResult? last = null;
        CodesBatch? previous = null; // gen_tokens of the last window
        foreach (var window in windows)
        {
            var prompt = previous is null ? request.PromptCodes : previous.FrameRange(strideTokens, window.PromptFrames);
            if (window.NewFrames == 0)
            {
                previous = prompt; // every frame is the prompt's: the reference's generate returns the prompt unchanged
                continue;
            }
            var windowRequest = request with
            {
                MaxNewTokens = StepsOf(window),
                AudioPrompt = previous is null ? request.AudioPrompt : null,
                PromptCodes = prompt,
                Melody = melodyAt?.Invoke((int)((double)window.Offset / frameRate * sampleRate)) ?? request.Melody,
            };
            // The first window gives all its frames (the piece starts with the prompt, re-decoded); later ones their new frames.
            int keepFrom = previous is null ? 0 : window.PromptFrames;
            FramesHandler? report = onFrames is null ? null : (codes, first) =>
            {
                int skip = Math.Max(0, keepFrom - first);
                if (skip < codes.Frames) onFrames(codes.FrameRange(skip, codes.Frames - skip), window.Offset + first + skip);
            };
            last = generator.Generate(windowRequest, wholePiece.Window(StepsOf(window)), cancellation, onFrames: report);
            pieces.Add(last.Codes.FrameRange(keepFrom, last.Codes.Frames - keepFrom));
            previous = last.Codes;
        }
        return new GenerationResult(CodesBatch.Concatenate(pieces), initialPrompt, last!.SequenceLength, last.DelayedIds);
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

    /// <summary>
    /// The chroma of each window of tunes (mono, at the extractor's rate): the window's part of every tune
    /// (<see cref="MelodyWindow"/>, window seconds long) through the melody feature extractor.
    /// </summary>
    public static Func<int, MelodyChroma> MelodyFollower(Audio.ChromaFeatureExtractor extractor, IReadOnlyList<float[]> tunes, double windowSeconds) =>
        start =>
        {
            var windows = tunes.Select(tune => MelodyWindow(tune, start, (int)(windowSeconds * extractor.SampleRate))).ToList();
            var oneHot = extractor.Extract(windows, out int frames);
            return new MelodyChroma(windows.Count, frames, extractor.NumChroma, oneHot);
        };

    /// <summary>The steps of every window reported as steps of the whole piece, at the speed of the piece so far.</summary>
    private sealed class PieceProgress(IProgress<GenerationProgress>? target, int total)
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private int _before;

        /// <summary>A progress for the next window of the given steps.</summary>
        public IProgress<GenerationProgress>? Window(int steps)
        {
            if (target is null) return null;
            int before = _before;
            _before += steps;
            return new Forward(step =>
            {
                int done = before + step.Step;
                target.Report(new GenerationProgress(done, total, done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9)));
            });
        }

        private sealed class Forward(Action<GenerationProgress> report) : IProgress<GenerationProgress>
        {
            public void Report(GenerationProgress value) => report(value);
        }
    }
}
