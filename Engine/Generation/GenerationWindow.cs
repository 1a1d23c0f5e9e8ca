namespace MusicGen.Engine.Generation;

/// <summary>
/// One window of a piece, in frames: it starts <paramref name="Offset"/> frames into the piece (the audio prompt
/// included), its first <paramref name="PromptFrames"/> are the end of the previous window (or the piece's prompt),
/// and <paramref name="Steps"/> decoding steps make the rest, <paramref name="Frames"/> in all. A piece that fits
/// the model's window is one window.
/// </summary>
public sealed record GenerationWindow(int Offset, int PromptFrames, int Frames, int Steps)
{
    /// <summary>Frames the window adds to the piece.</summary>
    public int NewFrames => Math.Max(0, Frames - PromptFrames);

    /// <summary>The one window of a piece of <paramref name="steps"/> decoding steps after <paramref name="promptFrames"/> of prompt.</summary>
    public static IReadOnlyList<GenerationWindow> Single(int promptFrames, int steps, CodebookLayout layout) =>
        [new(0, promptFrames, DelayPattern.FramesOf(promptFrames, steps, layout), steps)];

    /// <summary>
    /// The windows of a piece longer than one, as audiocraft cuts it (audiocraft/models/genmodel.py,
    /// BaseGenModel._generate_tokens, the branch for duration &gt; max_duration), to the frame: total = int(duration ·
    /// frame rate); window k starts at offset k · int(frame rate · stride) and is int(min(duration − offset / frame
    /// rate, window) · frame rate) frames long, its prompt included; each continues the last (window − stride) of
    /// the one before; the loop runs while offset + prompt length &lt; total. A window of no new frames (audiocraft's
    /// rounding can make one at the end) takes no steps.
    /// </summary>
    public static IReadOnlyList<GenerationWindow> Longform(double duration, double window, double extendStride, int frameRate, int promptFrames,
        CodebookLayout layout) =>
        Extending(duration, window, extendStride, frameRate, promptFrames, layout).ToList();

    /// <summary>
    /// The windows of a piece without end, made one at a time as they are asked for: those of <see cref="Longform"/>
    /// for a piece of infinite duration (every window after the first continues the last window − stride of the one before).
    /// </summary>
    public static IEnumerable<GenerationWindow> Endless(double window, double extendStride, int frameRate, int promptFrames, CodebookLayout layout) =>
        Extending(double.PositiveInfinity, window, extendStride, frameRate, promptFrames, layout);

    private static IEnumerable<GenerationWindow> Extending(double duration, double window, double extendStride, int frameRate, int promptFrames,
        CodebookLayout layout)
    {
        // A piece without end ends where its frames no longer count in an int: more than a year at 50 frames a second.
        long totalGenLen = double.IsPositiveInfinity(duration) ? int.MaxValue : (long)(duration * frameRate);
        int strideTokens = (int)(frameRate * extendStride);
        int currentGenOffset = 0, promptLength = promptFrames;
        while ((long)currentGenOffset + promptLength < totalGenLen && currentGenOffset <= int.MaxValue - strideTokens)
        {
            double timeOffset = (double)currentGenOffset / frameRate;
            double chunkDuration = Math.Min(duration - timeOffset, window);
            int maxGenLen = (int)(chunkDuration * frameRate);
            int newFrames = Math.Max(0, maxGenLen - promptLength);
            yield return new GenerationWindow(currentGenOffset, promptLength, maxGenLen, newFrames == 0 ? 0 : layout.StepsFor(newFrames));
            promptLength = Math.Max(0, Math.Max(maxGenLen, promptLength) - strideTokens); // gen_tokens[:, :, stride_tokens:]
            currentGenOffset += strideTokens;
        }
    }
}
