namespace MusicGen.Engine.Backends;

/// <summary>
/// Where a padded position reads from, shared by every backend: −1 for a zero. Reflection follows EnCodec's
/// _pad1d: when the input is not longer than the padding, it is first extended with zeros on the right so the
/// reflection is defined, and that extension is cut off again at the end.
/// </summary>
public static class PadIndex
{
    public static int Source(int p, int length, int left, int right, PadMode mode)
    {
        if (mode == PadMode.Zero)
        {
            int i = p - left;
            return (uint)i < (uint)length ? i : -1;
        }
        int extended = length + Math.Max(0, Math.Max(left, right) - length + 1);
        int source = p < left ? left - p
            : p < left + extended ? p - left
            : extended - 2 - (p - left - extended);
        return source < length ? source : -1;
    }
}
