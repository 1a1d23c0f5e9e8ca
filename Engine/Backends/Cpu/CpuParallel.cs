namespace MusicGen.Engine.Backends.Cpu;

/// <summary>Splits a range of independent work items across the cores, or runs it inline when it is small.</summary>
internal static class CpuParallel
{
    /// <summary>Below this much work (in multiply-adds or equivalent) a fork is slower than doing it inline.</summary>
    private const long InlineCost = 32_768;

    public static int Workers { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Runs body(start, end) over [0, count) in contiguous ranges, given the cost of one item.</summary>
    public static void For(int count, long costPerItem, Action<int, int> body)
    {
        if (count <= 0) return;
        int parts = (int)Math.Min(Math.Min(count, Workers * 4L), Math.Max(1, count * costPerItem / InlineCost));
        if (parts <= 1 || Workers == 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, parts, part =>
        {
            int start = (int)((long)count * part / parts);
            int end = (int)((long)count * (part + 1) / parts);
            if (end > start) body(start, end);
        });
    }
}
