using System.Globalization;
using System.Text;

namespace MusicGen.Server.Jobs;

/// <summary>Counters for <c>/metrics</c>, in the Prometheus text format.</summary>
public sealed class ServerMetrics
{
    private readonly long[] _finished = new long[Enum.GetValues<JobStatus>().Length];
    private long _submitted, _rejected, _batches, _pieces;
    private double _audioSeconds;

    /// <summary>Pieces in the batch running now (0 when idle).</summary>
    public int RunningBatchSize { get; set; }

    /// <summary>Decoding steps per second of the running (or last) batch.</summary>
    public double StepsPerSecond { get; set; }

    internal void Submitted() => Interlocked.Increment(ref _submitted);
    internal void Rejected() => Interlocked.Increment(ref _rejected);
    internal void Finished(JobStatus status) => Interlocked.Increment(ref _finished[(int)status]);

    internal void BatchDone(int pieces, double audioSeconds)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _pieces, pieces);
        lock (_finished) _audioSeconds += audioSeconds;
    }

    /// <summary>The metrics as Prometheus text (version 0.0.4).</summary>
    public string Render(int queueLength, IReadOnlyDictionary<JobStatus, int> known, int streams, int listeners)
    {
        var text = new StringBuilder();
        void Metric(string name, string type, string help, params (string Labels, double Value)[] samples)
        {
            text.Append($"# HELP {name} {help}\n# TYPE {name} {type}\n");
            foreach (var (labels, value) in samples) text.Append(CultureInfo.InvariantCulture, $"{name}{labels} {value}\n");
        }
        Metric("musicgen_queue_length", "gauge", "Requests waiting for the generator.", ("", queueLength));
        Metric("musicgen_running_batch_size", "gauge", "Pieces in the batch being generated now.", ("", RunningBatchSize));
        Metric("musicgen_steps_per_second", "gauge", "Decoding steps per second of the running or last batch.", ("", Math.Round(StepsPerSecond, 3)));
        Metric("musicgen_generations_submitted_total", "counter", "Requests accepted.", ("", Interlocked.Read(ref _submitted)));
        Metric("musicgen_generations_rejected_total", "counter", "Requests refused because the queue was full.", ("", Interlocked.Read(ref _rejected)));
        Metric("musicgen_generations_total", "counter", "Requests finished, by final status.",
            Enum.GetValues<JobStatus>().Where(s => s is JobStatus.Done or JobStatus.Failed or JobStatus.Cancelled)
                .Select(s => ($"{{status=\"{s.ToString().ToLowerInvariant()}\"}}", (double)Interlocked.Read(ref _finished[(int)s]))).ToArray());
        Metric("musicgen_generations", "gauge", "Requests the server knows now, by status.",
            known.Select(pair => ($"{{status=\"{pair.Key.ToString().ToLowerInvariant()}\"}}", (double)pair.Value)).ToArray());
        Metric("musicgen_streams", "gauge", "Streams playing or waiting for the generator.", ("", streams));
        Metric("musicgen_stream_listeners", "gauge", "Listeners of every stream.", ("", listeners));
        Metric("musicgen_batches_total", "counter", "Batches generated.", ("", Interlocked.Read(ref _batches)));
        Metric("musicgen_batch_pieces_total", "counter", "Pieces generated in those batches.", ("", Interlocked.Read(ref _pieces)));
        lock (_finished) Metric("musicgen_audio_seconds_total", "counter", "Seconds of audio generated.", ("", Math.Round(_audioSeconds, 3)));
        return text.ToString();
    }
}
