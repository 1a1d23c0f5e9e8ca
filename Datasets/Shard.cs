using System.Globalization;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>: a contiguous range of the manifest's clips, so that the
/// shards in index order hold the clips in manifest order.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>More shards than this is taken for a typo.</summary>
    public const int MaxCount = 99_999;

    public static Shard Whole => new(0, 1);

    public override string ToString() => $"{Index}/{Count}";

    /// <summary>The range of <paramref name="total"/> clips this shard takes.</summary>
    public (int Start, int End) Range(int total) => ((int)((long)total * Index / Count), (int)((long)total * (Index + 1) / Count));

    /// <summary><c>I/N</c> with 0 ≤ I &lt; N.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            return Create(index, count, $"--shard {text}");
        throw new MusicGenException($"--shard {text}: expected INDEX/COUNT, such as 0/8");
    }

    /// <summary>
    /// The shard the scheduler assigned, or null when none did: a Kubernetes Indexed Job sets
    /// <c>JOB_COMPLETION_INDEX</c> (the count, the Job's <c>completions</c>, must be passed as
    /// <c>JOB_COMPLETION_COUNT</c>, which Kubernetes does not set); a Slurm job array sets
    /// <c>SLURM_ARRAY_TASK_ID</c>, <c>SLURM_ARRAY_TASK_MIN</c>, <c>SLURM_ARRAY_TASK_MAX</c> and
    /// <c>SLURM_ARRAY_TASK_COUNT</c> (the array must be a contiguous range such as 0-7 or 1-8).
    /// </summary>
    public static Shard? FromEnvironment(Func<string, string?> variable)
    {
        if (variable("JOB_COMPLETION_INDEX") is { } completionIndex)
        {
            int index = Integer("JOB_COMPLETION_INDEX", completionIndex);
            string count = variable("JOB_COMPLETION_COUNT")
                ?? throw new MusicGenException("JOB_COMPLETION_INDEX is set but JOB_COMPLETION_COUNT is not: set it to the Job's completions, or pass --shard");
            return Create(index, Integer("JOB_COMPLETION_COUNT", count), "JOB_COMPLETION_INDEX/JOB_COMPLETION_COUNT");
        }
        if (variable("SLURM_ARRAY_TASK_ID") is { } taskId)
        {
            int id = Integer("SLURM_ARRAY_TASK_ID", taskId);
            int min = Integer("SLURM_ARRAY_TASK_MIN", variable("SLURM_ARRAY_TASK_MIN") ?? "0");
            string taskCount = variable("SLURM_ARRAY_TASK_COUNT")
                ?? throw new MusicGenException("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard");
            int count = Integer("SLURM_ARRAY_TASK_COUNT", taskCount);
            if (variable("SLURM_ARRAY_TASK_MAX") is { } maxText && Integer("SLURM_ARRAY_TASK_MAX", maxText) - min + 1 != count)
                throw new MusicGenException($"the Slurm array is not a contiguous range ({count} tasks from {min} to {maxText}); use --array=0-{count - 1}, or pass --shard");
            return Create(id - min, count, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
        }
        return null;
    }

    private static int Integer(string name, string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new MusicGenException($"{name}={text} is not a non-negative integer");

    private static Shard Create(int index, int count, string source)
    {
        if (count is < 1 or > MaxCount) throw new MusicGenException($"{source}: the shard count must be between 1 and {MaxCount}, not {count}");
        if (index >= count) throw new MusicGenException($"{source}: shard index {index} is not below the count {count}");
        return new Shard(index, count);
    }
}
