using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Datasets;

/// <summary>
/// Sharded dataset runs killed with SIGKILL at chosen points (MUSICGEN_CRASH_AT=NAME:N: the N-th time the process
/// reaches NAME), run again and finalized: the output folder must end byte for byte as an uninterrupted run's, with
/// no temporary file or staging folder left. CI runs a few seeded trials; MUSICGEN_DATASET_CRASH_TRIALS=N runs N.
/// </summary>
public sealed class DatasetCrashTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempFolder _folder = new();

    private string Audio => _folder.File("audio");

    /// <summary>The stages of a two-shard dataset, in the order they run.</summary>
    private static readonly string[] Stages = ["0/2", "1/2", "finalize"];

    /// <summary>
    /// Where a stage can be killed, and how many times a run of it reaches each point: 7 clips (one not audio) in
    /// parts of two, shard 0 taking 3 clips in 2 parts and shard 1 taking 4 in 2, each part one Parquet file. After
    /// each clip of a part; between the write of a file and its rename (output-written: shard 0's settings, then
    /// each shard's Parquet files and part records; the failures and card of finalize); after each Parquet file
    /// copied into finalize's staging folder.
    /// </summary>
    private static readonly Dictionary<string, (string Point, int Reaches)[]> Points = new()
    {
        ["0/2"] = [("dataset-clip", 3), ("output-written", 5)],
        ["1/2"] = [("dataset-clip", 4), ("output-written", 4)],
        ["finalize"] = [("dataset-copied", 4), ("output-written", 2)],
    };

    private void MakeAudio()
    {
        Directory.CreateDirectory(Audio);
        for (int i = 0; i < 6; i++)
        {
            var tone = Enumerable.Range(0, 8000).Select(t => (float)(0.4 * Math.Sin(2 * Math.PI * (150 + 70 * i) * t / 32000))).ToArray();
            WavFile.Write(Path.Combine(Audio, $"tone-{i}.wav"), new AudioClip(32000, [tone]), SampleFormat.Pcm16);
        }
        File.WriteAllText(Path.Combine(Audio, "tone-3b.wav"), "not a WAV file");
    }

    public void Dispose() => _folder.Dispose();

    [SkippableFact]
    public void Shards_and_finalize_killed_at_seeded_points_and_run_again_give_the_uninterrupted_dataset()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the crash hook kills with SIGKILL");
        MakeAudio();
        int trials = int.TryParse(Environment.GetEnvironmentVariable("MUSICGEN_DATASET_CRASH_TRIALS"), out int asked) ? asked : 4; // the fourth kills finalize mid-copy
        string reference = _folder.File("uninterrupted");
        foreach (string stage in Stages) RunStage(reference, stage);
        var expected = Snapshot(reference);
        Assert.Contains(Path.Combine("data", "train-00001-of-00002.parquet"), expected.Keys);
        Assert.Contains(Path.Combine("data", "test-00001-of-00002.parquet"), expected.Keys);
        Assert.Contains("tone-3b.wav", File.ReadAllText(Path.Combine(reference, "failures.csv")));

        var random = new Random(23);
        for (int trial = 0; trial < trials; trial++)
        {
            string stage = Stages[random.Next(Stages.Length)];
            var (point, reaches) = Points[stage][random.Next(Points[stage].Length)];
            int n = random.Next(1, reaches + 1);
            string output = _folder.File($"trial-{trial}");
            string what = $"trial {trial}: {stage} killed at {point}:{n}";
            foreach (string before in Stages.TakeWhile(s => s != stage)) RunStage(output, before);

            var killed = CliProcess.Run(Arguments(output, stage), new Dictionary<string, string> { ["MUSICGEN_CRASH_AT"] = $"{point}:{n}" });
            Assert.True(killed.ExitCode == 137, $"{what}: exit {killed.ExitCode}, not SIGKILL's 137 (reached fewer than {n} times?) {killed.Error}");
            foreach (string rest in Stages.SkipWhile(s => s != stage)) RunStage(output, rest);

            var actual = Snapshot(output);
            Assert.True(expected.Keys.Order().SequenceEqual(actual.Keys.Order()),
                $"{what}: files differ: {string.Join(", ", actual.Keys.Except(expected.Keys).Select(k => "+" + k).Concat(expected.Keys.Except(actual.Keys).Select(k => "-" + k)))}");
            foreach (var (path, bytes) in expected) Assert.True(bytes.SequenceEqual(actual[path]), $"{what}: {path} differs");
            log.WriteLine($"{what}: dataset identical ({actual.Count} entries)");
        }
    }

    private string[] Arguments(string output, string stage) => stage == "finalize"
        ? ["dataset", "finalize", output]
        : ["dataset", Audio, "--out", output, "--model", Path.Combine(TestPaths.Golden("encodec-32khz"), "model"),
            "--shard", stage, "--part-size", "2", "--batch", "2", "--test-fraction", "0.5"];

    private void RunStage(string output, string stage)
    {
        var run = CliProcess.Run(Arguments(output, stage));
        Assert.True(run.ExitCode == 0, $"{stage}: exit {run.ExitCode}: {run.Error}");
    }

    /// <summary>Every file (with its bytes) and folder (empty) under <paramref name="root"/>, hidden ones included.</summary>
    private static Dictionary<string, byte[]> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
            path => Path.GetRelativePath(root, path),
            path => File.Exists(path) ? File.ReadAllBytes(path) : []);
}
