using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Datasets;
using MusicGen.Tests.Support;
using ParquetSharp;

namespace MusicGen.Tests.Datasets;

/// <summary>
/// A MusicCaps-style manifest over audio made here (a whole recording to cut, clips already cut, noise at another
/// rate, a missing file, a bad time range, a file too short), encoded once in one process for the tests to share.
/// </summary>
public sealed class DatasetFixture : IDisposable
{
    private readonly TempFolder _folder = new();

    public static string Model => Path.Combine(TestPaths.Golden("encodec-32khz"), "model");
    public string Audio => _folder.File("audio");
    public string Manifest => _folder.File("manifest.csv");
    /// <summary>The dataset made by one process.</summary>
    public string Single => _folder.File("single");
    public string Root => _folder.Path;

    /// <summary>The options every run of these tests shares, so that their rows can be compared.</summary>
    public static readonly string[] Options = ["--model", Model, "--mot-offset", "128256", "--test-fraction", "0.5"];

    /// <summary>Parts of two clips encoded two at a time, unless a test chooses otherwise.</summary>
    private static readonly string[] Parts = ["--part-size", "2", "--batch", "2"];

    public DatasetFixture()
    {
        Directory.CreateDirectory(Path.Combine(Audio, "sub"));
        Write("tone-cut.wav", 44100, 3.0, [440, 660]);
        Write("tone-clip.wav", 32000, 1.0, [330]);
        WavFile.Write(Path.Combine(Audio, "noise.wav"), new AudioClip(16000, [RandomData.Uniform(7, 19200, 0.3f)]), SampleFormat.Pcm16);
        for (int i = 4; i <= 8; i++) Write(i == 6 ? "sub/tone-6.wav" : $"tone-{i}.wav", 32000, 1.0, [110 * i]);
        Write("bad-range.wav", 32000, 1.0, [200]);
        Write("short.wav", 32000, 1.0, [250]);
        File.WriteAllText(Manifest,
            "ytid,start_s,end_s,audioset_positive_labels,aspect_list,caption,author_id,is_balanced_subset,is_audioset_eval,genre\n"
            + "tone-cut,1,2,\"/m/0140xf,/m/02cjck\",\"['low quality', \"\"it's\"\"]\",\"Two tones, cut\",4,False,True,pop\n"
            + "tone-clip,30,31,/m/04rlf,['sine'],An already cut clip,7,True,False,\n"
            + "noise,0,1.2,,[],Noise,,,,noise\n"
            + "tone-4,0,1,,,,,,,\n"
            + "missing,0,1,,,Gone,1,True,True,\n"
            + "tone-5,0,1,,\"['a', 'b']\",Five,5,False,False,rock\n"
            + "bad-range,5,5,,,,,,,\n"
            + "tone-6,0,1,,,Six in a subfolder,,,,\n"
            + "short,2,4,,,Too short,,,,\n"
            + "tone-7,0,1,,,,,,,\n"
            + "tone-8,0,1,,,Eight,8,,,\n");
        var run = CliRunner.Run(Run(Single));
        Assert.True(run.ExitCode == 0, run.Error);
    }

    private void Write(string name, int rate, double seconds, double[] frequencies)
    {
        int length = (int)(rate * seconds);
        var channels = frequencies.Select(f => Enumerable.Range(0, length).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * f * i / rate))).ToArray()).ToArray();
        WavFile.Write(Path.Combine(Audio, name), new AudioClip(rate, channels), SampleFormat.Float32);
    }

    public string[] Run(string output, params string[] extra) =>
        ["dataset", Manifest, "--audio", Audio, "--out", output, .. Options, .. extra.Contains("--part-size") ? [] : Parts, .. extra];

    public void Dispose() => _folder.Dispose();
}

[Collection("Console")]
public class DatasetCommandTests(DatasetFixture fixture) : IClassFixture<DatasetFixture>
{
    private static readonly string[] Encoded = ["tone-cut", "tone-clip", "noise", "tone-4", "tone-5", "tone-6", "tone-7", "tone-8"];

    private static List<ParquetRow> Rows(string folder) =>
        [.. ParquetRow.ReadSplit(folder, DatasetSplit.Train), .. ParquetRow.ReadSplit(folder, DatasetSplit.Test)];

    [Fact]
    public void Every_usable_clip_is_a_row_in_its_split_and_the_rest_are_failures_with_reasons()
    {
        foreach (string split in new[] { DatasetSplit.Train, DatasetSplit.Test })
            Assert.Equal(Encoded.Where(id => DatasetSplit.Of(id, 0.5) == split), ParquetRow.ReadSplit(fixture.Single, split).Select(r => r.Id));
        var failures = File.ReadAllLines(Path.Combine(fixture.Single, "failures.csv"));
        Assert.Equal("ytid,reason", failures[0]);
        Assert.Contains(failures, l => l.StartsWith("missing,", StringComparison.Ordinal) && l.Contains("no audio file named missing"));
        Assert.Contains(failures, l => l.StartsWith("bad-range,", StringComparison.Ordinal) && l.Contains("end_s 5 is not after start_s 5"));
        Assert.Contains(failures, l => l.StartsWith("short,", StringComparison.Ordinal) && l.Contains("shorter than asked"));
        Assert.Equal(4, failures.Length);
    }

    [Fact]
    public void Rows_hold_the_metadata_with_nulls_and_the_extra_columns()
    {
        var rows = Rows(fixture.Single).ToDictionary(r => r.Id);
        var cut = rows["tone-cut"];
        Assert.Equal(("Two tones, cut", "/m/0140xf,/m/02cjck", 1.0, 2.0, 4L, false, true), (cut.Caption, cut.Labels, cut.Start, cut.End, cut.Author, cut.Balanced, cut.Eval));
        Assert.Equal(["low quality", "it's"], cut.AspectList!);
        Assert.Equal(new string?[] { "pop" }, (IEnumerable<string?>)cut.Extras);
        var bare = rows["tone-4"];
        Assert.Equal((null, null, null, null, null, null), (bare.Caption, bare.AspectList, bare.Labels, bare.Author, bare.Balanced, bare.Extras[0]));
        Assert.Empty(rows["noise"].AspectList!);
    }

    [Fact]
    public void Columns_have_the_dataset_types()
    {
        string file = Directory.EnumerateFiles(Path.Combine(fixture.Single, "data"), "train-*.parquet").First();
        using var reader = new ParquetFileReader(file);
        var schema = reader.FileMetaData.Schema;
        var columns = Enumerable.Range(0, schema.NumColumns).Select(schema.Column)
            .ToDictionary(c => c.Path.ToDotString().Split('.')[0], c => (c.PhysicalType, Logical: c.LogicalType.ToString(), c.MaxRepetitionLevel));
        Assert.Equal((PhysicalType.Int32, "Int(bitWidth=16, isSigned=true)", (short)2), columns["audio_codes"]);
        Assert.Equal((PhysicalType.Int32, "Int(bitWidth=32, isSigned=true)", (short)1), columns["mot_tokens"]);
        Assert.Equal((PhysicalType.ByteArray, "String", (short)1), columns["aspect_list"]);
        Assert.Equal((PhysicalType.ByteArray, "String", (short)0), columns["ytid"]);
        Assert.Equal((PhysicalType.ByteArray, "String", (short)0), columns["genre"]);
        Assert.Equal(PhysicalType.Int32, columns["n_codebooks"].PhysicalType);
        Assert.Equal(PhysicalType.Int32, columns["seq_length"].PhysicalType);
        Assert.Equal(PhysicalType.Double, columns["start_s"].PhysicalType);
        Assert.Equal(PhysicalType.Int64, columns["author_id"].PhysicalType);
        Assert.Equal(PhysicalType.Boolean, columns["is_audioset_eval"].PhysicalType);
        Assert.Equal([.. ParquetRow.Known.Take(12), "mot_tokens", "genre"], columns.Keys);
    }

    [Theory]
    [InlineData("tone-clip", 0, 0)]
    [InlineData("tone-cut", 44100, 88200)]
    [InlineData("noise", 0, 19200)]
    public void Audio_codes_are_what_musicgen_encode_gives_for_the_clip_and_mot_tokens_follow_the_formula(string id, int first, int last)
    {
        using var folder = new TempFolder();
        var file = WavFile.Read(Directory.EnumerateFiles(fixture.Audio, id + ".wav").Single());
        string clip = folder.File("clip.wav"), codes = folder.File("codes.safetensors");
        WavFile.Write(clip, last == 0 ? file : new AudioClip(file.SampleRate, file.Channels.Select(c => c[first..last]).ToArray()), SampleFormat.Float32);
        var encode = CliRunner.Run("encode", clip, "--model", DatasetFixture.Model, "--out", codes);
        Assert.True(encode.ExitCode == 0, encode.Error);
        var expected = CodesFile.Load(codes); // [1, K, F]

        var row = Rows(fixture.Single).Single(r => r.Id == id);
        Assert.Equal((expected.Codebooks, expected.Frames), (row.Codebooks, row.Length));
        Assert.Equal(expected.Values, row.Codes.SelectMany(c => c).Select(v => (int)v));
        Assert.All(row.Codes, c => Assert.Equal(expected.Frames, c.Length));
        var tokens = Enumerable.Range(0, row.Length).SelectMany(f => Enumerable.Range(0, row.Codebooks).Select(k => row.Codes[k][f] + 128256));
        Assert.Equal(tokens, row.MotTokens!);
    }

    [Fact]
    public void Three_shards_in_parallel_processes_give_the_same_rows_as_one_process()
    {
        string sharded = Path.Combine(fixture.Root, "sharded-" + Guid.NewGuid().ToString("N"));
        // Shard 0 by option, shard 1 as a Kubernetes Indexed Job assigns it, shard 2 as a Slurm array numbered 1-3 does.
        var shards = new[]
        {
            CliProcess.Start(fixture.Run(sharded, "--shard", "0/3")),
            CliProcess.Start(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1", ["JOB_COMPLETION_COUNT"] = "3" }, fixture.Run(sharded)),
            CliProcess.Start(new Dictionary<string, string>
            {
                ["SLURM_ARRAY_TASK_ID"] = "3", ["SLURM_ARRAY_TASK_MIN"] = "1", ["SLURM_ARRAY_TASK_MAX"] = "3", ["SLURM_ARRAY_TASK_COUNT"] = "3",
            }, fixture.Run(sharded)),
        };
        var printed = shards.Select(CliProcess.WaitForSuccess).ToArray();
        for (int i = 0; i < 3; i++) Assert.Contains($"shard {i}/3:", printed[i]);
        Assert.All(printed, p => Assert.Contains("when every shard is done", p));
        var finalize = CliRunner.Run("dataset", "finalize", sharded);
        Assert.True(finalize.ExitCode == 0, finalize.Error);

        foreach (string split in new[] { DatasetSplit.Train, DatasetSplit.Test })
            Assert.Equal(ParquetRow.ReadSplit(fixture.Single, split), ParquetRow.ReadSplit(sharded, split));
        Assert.Equal(File.ReadAllText(Path.Combine(fixture.Single, "failures.csv")), File.ReadAllText(Path.Combine(sharded, "failures.csv")));
    }

    [SkippableFact]
    public void A_shard_killed_mid_way_and_run_again_gives_the_same_dataset()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the crash hook kills with SIGKILL");
        // One clip per part, killed by the crash hook after the sixth clip is coded: five parts recorded, six to do.
        string[] onePerPart = ["--part-size", "1", "--batch", "1"];
        string killed = Path.Combine(fixture.Root, "killed-" + Guid.NewGuid().ToString("N"));
        var layout = new DatasetLayout(killed);
        var run = CliProcess.Run(fixture.Run(killed, onePerPart), new Dictionary<string, string> { ["MUSICGEN_CRASH_AT"] = "dataset-clip:6" });
        Assert.True(run.ExitCode == 137, $"exit {run.ExitCode}, not SIGKILL's 137: {run.Error}");
        int done = Directory.EnumerateFiles(layout.ShardFolder(Shard.Whole), "part-*.json").Count();
        Assert.Equal(5, done); // of 11 parts
        Assert.False(Directory.Exists(layout.Data));

        var rerun = CliRunner.Run(fixture.Run(killed, onePerPart));
        Assert.True(rerun.ExitCode == 0, rerun.Error);
        Assert.Contains($"8 encoded, 3 failed ({11 - done} part(s) written", rerun.Output);
        string uninterrupted = Path.Combine(fixture.Root, "uninterrupted-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, CliRunner.Run(fixture.Run(uninterrupted, onePerPart)).ExitCode);
        foreach (string split in new[] { DatasetSplit.Train, DatasetSplit.Test })
            Assert.Equal(ParquetRow.ReadSplit(fixture.Single, split), ParquetRow.ReadSplit(killed, split));
        foreach (string file in new[] { "README.md", "failures.csv" }.Concat(Directory.EnumerateFiles(Path.Combine(uninterrupted, "data")).Select(f => Path.Combine("data", Path.GetFileName(f)))))
            Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, file)), File.ReadAllBytes(Path.Combine(killed, file)));
        Assert.Equal(Directory.GetFiles(Path.Combine(uninterrupted, "data")).Length, Directory.GetFiles(Path.Combine(killed, "data")).Length);

        var again = CliRunner.Run(fixture.Run(killed, onePerPart));
        Assert.Contains("8 encoded, 3 failed (0 part(s) written", again.Output);
    }

    [Fact]
    public void A_row_decodes_to_what_musicgen_decode_gives_for_its_codes()
    {
        using var folder = new TempFolder();
        string codes = folder.File("codes.safetensors"), expected = folder.File("expected.wav"), actual = folder.File("row.wav");
        Assert.Equal(0, CliRunner.Run("encode", Path.Combine(fixture.Audio, "tone-clip.wav"), "--model", DatasetFixture.Model, "--out", codes).ExitCode);
        var stored = CodesFile.Load(codes);
        CodesFile.Save(codes, stored with { Samples = null });
        Assert.Equal(0, CliRunner.Run("decode", codes, "--model", DatasetFixture.Model, "--out", expected).ExitCode);

        var decode = CliRunner.Run("dataset", "decode", fixture.Single, "--id", "tone-clip", "--model", DatasetFixture.Model, "--out", actual);
        Assert.True(decode.ExitCode == 0, decode.Error);
        Assert.Equal(WavFile.Read(expected).Channels, WavFile.Read(actual).Channels);

        var unknown = CliRunner.Run("dataset", "decode", fixture.Single, "--id", "nope", "--model", DatasetFixture.Model, "--out", actual);
        Assert.Equal((1, $"error: nope: no such row in {Path.Combine(fixture.Single, "data")}"), (unknown.ExitCode, unknown.Error.Trim()));
    }

    [Fact]
    public void The_card_has_a_yaml_header_and_the_statistics()
    {
        string card = File.ReadAllText(Path.Combine(fixture.Single, "README.md"));
        Assert.StartsWith("---\ntask_categories:\n", card);
        Assert.Contains("size_categories:\n- n<1K\n", card);
        Assert.Contains("  - split: train\n    path: data/train-*.parquet\n", card);
        int train = Encoded.Count(id => DatasetSplit.Of(id, 0.5) == DatasetSplit.Train);
        Assert.Contains($"| train | {train} |", card);
        Assert.Contains("compression ratio", card);
        Assert.Contains("Clips left out: 3", card);
        Assert.Contains("`mot_tokens` (list of int32)", card);
    }

    [Fact]
    public void The_folder_to_push_holds_only_the_dataset_and_its_card_names_no_local_path()
    {
        Assert.Equal(["README.md", "data", "failures.csv"], Directory.EnumerateFileSystemEntries(fixture.Single).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(new DatasetLayout(fixture.Single).Settings), "the parts are kept beside the dataset, for runs again");
        Assert.StartsWith(fixture.Single + ".parts", new DatasetLayout(fixture.Single).Settings);
        string card = File.ReadAllText(Path.Combine(fixture.Single, "README.md"));
        Assert.DoesNotContain(TestPaths.RepoRoot, card);
        Assert.Contains("codec of `model` (", card); // the golden checkpoint's folder: its config.json records no Hub id
    }

    [Fact]
    public void The_card_names_a_Hub_id_as_given_and_a_local_folder_by_the_id_its_config_records()
    {
        Assert.Equal("facebook/encodec_32khz@main", DatasetCard.ModelName("facebook/encodec_32khz@main"));
        using var folder = new TempFolder();
        string checkpoint = Directory.CreateDirectory(folder.File("snapshot")).FullName;
        File.WriteAllText(Path.Combine(checkpoint, "config.json"), """{"_name_or_path": "facebook/musicgen-small", "model_type": "musicgen"}""");
        Assert.Equal("facebook/musicgen-small", DatasetCard.ModelName(checkpoint + "/"));
        File.WriteAllText(Path.Combine(checkpoint, "config.json"), """{"_name_or_path": "/home/me/checkpoints/mine"}""");
        Assert.Equal("snapshot", DatasetCard.ModelName(checkpoint));
    }

    [Fact]
    public void Finalize_names_the_shards_that_are_not_complete()
    {
        string output = Path.Combine(fixture.Root, "partial-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, CliRunner.Run(fixture.Run(output, "--shard", "1/3")).ExitCode);
        var finalize = CliRunner.Run("dataset", "finalize", output);
        Assert.Equal(1, finalize.ExitCode);
        Assert.Contains("2 of 3 shards are not complete: shard 0/3 (0 of 2 parts), shard 2/3 (0 of 2 parts)", finalize.Error);
        Assert.False(Directory.Exists(Path.Combine(output, "data")));

        var other = CliRunner.Run("dataset", fixture.Manifest, "--audio", fixture.Audio, "--out", output, "--model", DatasetFixture.Model, "--shard", "0/3");
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("holds parts made with other settings (PartSize 2 then, 1000 now; TestFraction 0.5 then, 0.1 now; MotOffset 128256 then, null now)", other.Error);
    }

    [Fact]
    public void A_folder_of_audio_without_a_manifest_takes_every_file_with_its_relative_path_as_id()
    {
        string output = Path.Combine(fixture.Root, "folder-" + Guid.NewGuid().ToString("N"));
        var run = CliRunner.Run("dataset", fixture.Audio, "--model", DatasetFixture.Model, "--out", output, "--test-fraction", "0");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("10 encoded, 0 failed", run.Output);
        var rows = ParquetRow.ReadSplit(output, DatasetSplit.Train);
        Assert.Contains(rows, r => r.Id == "sub/tone-6.wav" && r.Caption is null && r.Start is null && r.MotTokens is null);
    }

    [Fact]
    public void A_recording_longer_than_a_whole_clip_is_coded_in_pieces_with_the_codes_of_a_whole_encode()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("audio"));
        var recording = new AudioClip(22050, [RandomData.Uniform(8, 22050 * 40, 0.3f), RandomData.Uniform(9, 22050 * 40, 0.3f)]);
        Assert.True(recording.Seconds > DatasetBuilder.WholeSeconds);
        WavFile.Write(folder.File("audio/long.wav"), recording, SampleFormat.Float32);

        var run = CliRunner.Run("dataset", folder.File("audio"), "--model", DatasetFixture.Model, "--out", folder.File("out"), "--test-fraction", "0");

        Assert.True(run.ExitCode == 0, run.Error);
        // The clip source mixes to mono before it resamples, as for every clip; coded whole, the same audio gives:
        using var backend = new MusicGen.Engine.Backends.Cpu.CpuBackend();
        using var checkpoint = MusicGen.Loaders.Checkpoints.CheckpointFolder.Open(DatasetFixture.Model);
        using var codec = new AudioCodec(backend, checkpoint);
        var expected = codec.EncodeBatch([Resampler.Resample(recording.WithChannels(1), 32000)])[0];
        var row = Assert.Single(ParquetRow.ReadSplit(folder.File("out"), DatasetSplit.Train));
        Assert.Equal((expected.Codebooks, expected.Frames), (row.Codebooks, row.Length));
        Assert.Equal(expected.Values, row.Codes.SelectMany(c => c).Select(v => (int)v));
    }

    [Fact]
    public void Nothing_encoded_is_a_failure()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("m.csv"), "ytid,start_s,end_s\nmissing,0,1\n");
        var run = CliRunner.Run("dataset", folder.File("m.csv"), "--audio", fixture.Audio, "--model", DatasetFixture.Model, "--out", folder.File("out"));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("0 encoded, 1 failed", run.Output);
    }

    [Theory]
    [InlineData("--shard", "3/3", "--shard 3/3: shard index 3 is not below the count 3")]
    [InlineData("--test-fraction", "1.5", "--test-fraction 1.5 is not between 0 and 1")]
    [InlineData("--batch", "0", "--batch 0 is not between 1 and 256")]
    [InlineData("--mot-offset", "-1", "--mot-offset -1 is negative")]
    public void Bad_options_are_one_line_errors(string option, string value, string message)
    {
        var run = CliRunner.Run("dataset", fixture.Manifest, "--audio", fixture.Audio, "--model", DatasetFixture.Model, "--out", Path.Combine(fixture.Root, "never"), option, value);
        Assert.Equal((1, "error: " + message), (run.ExitCode, run.Error.Trim()));
    }

    [Theory]
    [InlineData("--mot-offset")]
    [InlineData("finalize", "--help", "naming the ones that are not")]
    [InlineData("decode", "--help", "--id")]
    public void The_commands_explain_themselves(params string[] args)
    {
        string[] command = args.Length == 1 ? ["dataset", "--help"] : ["dataset", args[0], args[1]];
        var run = CliRunner.Run(command);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(args[^1], run.Output);
    }

    [Fact]
    public void An_unknown_option_is_refused()
    {
        var run = CliRunner.Run(fixture.Run(Path.Combine(fixture.Root, "never"), "--colour", "red"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--colour", run.Error + run.Output);
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "never")));
    }
}
