using MusicGen.Loaders;

namespace MusicGen.Engine.Generation;

/// <summary>
/// MusicGen's delay interleaving (MusicgenForCausalLM.build_delay_pattern_mask and apply_delay_pattern_mask):
/// codebook k of each channel runs k steps behind the first, the gaps before and after filled with the pad
/// token. For a stereo model the left and right codebooks of the same depth share a delay (rows interleaved
/// L0 R0 L1 R1 …). Rows are (batch, codebook); columns are decoder positions.
/// </summary>
public sealed class DelayPattern
{
    /// <summary>Forced value per [row, position], or −1 where the model predicts.</summary>
    private readonly int[] _mask;

    public int Rows { get; }
    public int Codebooks { get; }
    public int MaxLength { get; }
    public int PadTokenId { get; }
    /// <summary>Positions already known before generation starts (the start token, or a prompt).</summary>
    public int StartLength { get; }

    private readonly CodebookLayout _layout;

    /// <summary>Whether the codebooks are delayed (false when the sequence is too short for the pattern).</summary>
    public bool Delayed { get; }

    private DelayPattern(int rows, CodebookLayout layout, bool delayed, int maxLength, int padTokenId, int[] mask, int startLength)
    {
        _layout = layout;
        Delayed = delayed;
        Rows = rows;
        Codebooks = layout.Codebooks;
        MaxLength = maxLength;
        PadTokenId = padTokenId;
        _mask = mask;
        StartLength = startLength;
    }

    /// <summary>
    /// The pattern for prompt ids [rows, promptLength] (rows = batch · codebooks, the decoder start token first)
    /// over maxLength positions.
    /// </summary>
    public static DelayPattern Build(ReadOnlySpan<int> promptIds, int rows, int codebooks, int audioChannels, int maxLength, int padTokenId)
    {
        int promptLength = promptIds.Length / rows;
        var layout = new CodebookLayout(audioChannels, codebooks / audioChannels);
        int channelCodebooks = layout.CodebooksPerChannel;
        var mask = new int[rows * maxLength];
        Array.Fill(mask, -1);
        if (!Delays(maxLength, layout))
        {
            // Too short for the pattern: the reference leaves the prompt as it is and delays nothing.
            for (int row = 0; row < rows; row++)
                for (int j = 0; j < promptLength; j++) mask[row * maxLength + j] = promptIds[row * promptLength + j];
            return new DelayPattern(rows, layout, delayed: false, maxLength, padTokenId, mask, promptLength);
        }
        if (promptLength + channelCodebooks - 1 > maxLength)
            throw new MusicGenException($"a prompt of {promptLength} positions does not fit in {maxLength} with the delay pattern");

        for (int row = 0; row < rows; row++)
        {
            int delay = layout.DelayOf(row % codebooks);
            for (int j = 0; j < promptLength; j++) mask[row * maxLength + delay + j] = promptIds[row * promptLength + j];
            for (int j = 0; j < maxLength; j++)
                // Lower triangle (positions ≤ delay) and upper triangle (the last channelCodebooks − 1 − delay) are pad.
                if (j <= delay || j >= maxLength - channelCodebooks + 1 + delay) mask[row * maxLength + j] = padTokenId;
        }

        int start = promptLength;
        for (int row = 0; row < rows; row += codebooks)
            for (int j = 0; j < maxLength; j++)
                if (mask[row * maxLength + j] == -1)
                {
                    start = Math.Min(start, j);
                    break;
                }
        return new DelayPattern(rows, layout, delayed: true, maxLength, padTokenId, mask, start);
    }

    /// <summary>Whether a sequence of maxLength positions (the start token included) is long enough to be delayed; the reference delays nothing in a shorter one.</summary>
    private static bool Delays(int maxLength, CodebookLayout layout) => maxLength >= 2 * layout.CodebooksPerChannel - 1;

    /// <summary>
    /// Frames of codes that <paramref name="promptFrames"/> of prompt and <paramref name="steps"/> decoding steps
    /// revert to: in a delayed sequence the last codebook's delay is spent completing frames; in one too short for
    /// the pattern every step is a frame.
    /// </summary>
    public static int FramesOf(int promptFrames, int steps, CodebookLayout layout) =>
        Delays(1 + promptFrames + steps, layout) ? promptFrames + steps - layout.MaxDelay : promptFrames + steps;

    /// <summary>Where frame f of a row is in a delayed sequence: after the start token, its codebook's delay later.</summary>
    public int PositionOf(int row, int frame) => _layout.DelayOf(row % Codebooks) + 1 + frame;

    /// <summary>Frames that every row has once positions [0, position] are filled (delayed sequences only).</summary>
    public int FramesComplete(int position) => Math.Clamp(position - _layout.MaxDelay, 0, MaxLength - _layout.MaxDelay - 1);

    /// <summary>The value forced at a position, or −1 where the model's prediction stands.</summary>
    public int Forced(int row, int position) => _mask[row * MaxLength + position];

    /// <summary>Initial decoder ids [rows, StartLength]: the forced values (pad where the pattern is open).</summary>
    public int[] StartIds()
    {
        var ids = new int[Rows * StartLength];
        for (int row = 0; row < Rows; row++)
            for (int j = 0; j < StartLength; j++)
                ids[row * StartLength + j] = Forced(row, j);
        return ids;
    }

    /// <summary>
    /// Codes [batch, codebooks, frames] from the full sequence [rows, MaxLength], keeping the positions the
    /// pattern left open (reference: filter out the pad token after applying the mask).
    /// </summary>
    public int[] Revert(ReadOnlySpan<int> sequence, out int frames)
    {
        var kept = new List<int>[Rows];
        for (int row = 0; row < Rows; row++)
        {
            kept[row] = new List<int>(MaxLength);
            for (int j = 0; j < MaxLength; j++)
            {
                int forced = Forced(row, j);
                int value = forced == -1 ? sequence[row * MaxLength + j] : forced;
                if (value != PadTokenId) kept[row].Add(value);
            }
        }
        frames = kept[0].Count;
        if (kept.Any(k => k.Count != kept[0].Count))
            throw new InvalidOperationException("the delay pattern left rows of different lengths");
        return kept.SelectMany(k => k).ToArray();
    }
}
