using System.Collections.Concurrent;

namespace MusicGen.Server.Jobs;

/// <summary>Every job the server knows, by id; of the finished ones, only the newest <c>keep</c> are kept.</summary>
public sealed class JobStore(int keep)
{
    private readonly ConcurrentDictionary<string, GenerationJob> _jobs = new(StringComparer.Ordinal);
    private readonly Queue<GenerationJob> _finished = new();

    /// <summary>Finished jobs kept before the oldest is forgotten.</summary>
    public int Keep { get; } = keep;

    /// <summary>Adds a new job.</summary>
    public void Add(GenerationJob job) => _jobs[job.Id] = job;

    /// <summary>The job with this id, if it is known.</summary>
    public GenerationJob? Find(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Forgets a job.</summary>
    public void Remove(GenerationJob job) => _jobs.TryRemove(job.Id, out _);

    /// <summary>Counts jobs by status.</summary>
    public IReadOnlyDictionary<JobStatus, int> CountByStatus() =>
        Enum.GetValues<JobStatus>().ToDictionary(s => s, s => _jobs.Values.Count(j => j.Status == s));

    /// <summary>Records that a job finished, forgetting the oldest finished ones beyond <see cref="Keep"/>.</summary>
    public void Finished(GenerationJob job)
    {
        lock (_finished)
        {
            _finished.Enqueue(job);
            while (_finished.Count > Keep) Remove(_finished.Dequeue());
        }
    }
}
