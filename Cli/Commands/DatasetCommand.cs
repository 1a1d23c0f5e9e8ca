using System.CommandLine;
using System.Diagnostics;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Datasets;
using MusicGen.Kernels;
using MusicGen.Loaders;

namespace MusicGen.Cli.Commands;

/// <summary>
/// <c>musicgen dataset MANIFEST.csv --audio DIR --model MODEL --out OUT_DIR</c>: a MusicCaps-style manifest (or a
/// folder of audio) into Parquet shards of EnCodec codes in the Hugging Face Hub layout, one shard per process of
/// a Kubernetes Indexed Job or Slurm array; <c>dataset finalize</c> assembles the shards, <c>dataset decode</c>
/// plays a row back.
/// </summary>
public static class DatasetCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A MusicCaps-style manifest (.csv, with a ytid column), or a folder of audio files (each file a clip, its relative path the id)" };
        var audio = new Option<string?>("--audio") { Description = "With a manifest: the folder holding the audio, found by id (ID.wav, ID.mp3, … anywhere under it)" };
        var model = CommonOptions.Model();
        var output = CommonOptions.Output("Dataset folder: data/*.parquet, README.md and failures.csv (the shards' parts go beside it, in OUT_DIR.parts)");
        var device = CommonOptions.Device();
        var shard = new Option<string?>("--shard") { Description = "Process shard INDEX/COUNT of the manifest (default: from JOB_COMPLETION_INDEX and JOB_COMPLETION_COUNT, or SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, else the whole manifest)" };
        var testFraction = new Option<double>("--test-fraction") { Description = "Share of clips in the test split, chosen by a hash of the id", DefaultValueFactory = _ => 0.1 };
        var motOffset = new Option<int?>("--mot-offset") { Description = "Also write mot_tokens: the codes interleaved frame by frame plus this offset (128256 for Llama 3's vocabulary)" };
        var bandwidth = new Option<double?>("--bandwidth") { Description = "Target bandwidth in kbps, one of the codec's (default: its largest; 4 codebooks for MusicGen's codec)" };
        var cut = new Option<CutMode>("--cut") { Description = "Auto: cut [start_s, end_s) from files that reach end_s, take files as long as end_s − start_s whole; Always: files are whole recordings; Never: files are the clips", DefaultValueFactory = _ => CutMode.Auto };
        var batch = new Option<int>("--batch") { Description = "Clips of equal length encoded together", DefaultValueFactory = _ => 4 };
        var partSize = new Option<int>("--part-size") { Description = "Clips per Parquet part: the work a killed shard loses at most", DefaultValueFactory = _ => 1000 };
        var command = new Command("dataset", "Encode a MusicCaps-style manifest or a music folder into a Parquet dataset of EnCodec codes (Hugging Face Hub layout)")
        {
            input, audio, model, output, shard, testFraction, motOffset, bandwidth, cut, batch, partSize, device,
        };
        command.Subcommands.Add(FinalizeCommand());
        command.Subcommands.Add(DecodeCommand());
        command.SetAction(parse => CommandRunner.Run(() => Build(new BuildRequest(
            parse.GetValue(input)!, parse.GetValue(audio), parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(device)!,
            parse.GetValue(shard), parse.GetValue(testFraction), parse.GetValue(motOffset), parse.GetValue(bandwidth),
            parse.GetValue(cut), parse.GetValue(batch), parse.GetValue(partSize)))));
        return command;
    }

    private sealed record BuildRequest(
        string Input, string? Audio, string Model, string Output, string Device, string? Shard, double TestFraction,
        int? MotOffset, double? Bandwidth, CutMode Cut, int Batch, int PartSize);

    private static int Build(BuildRequest request)
    {
        DatasetSplit.CheckFraction(request.TestFraction);
        if (request.Batch is < 1 or > 256) throw new MusicGenException($"--batch {request.Batch} is not between 1 and 256");
        if (request.PartSize is < 1 or > 1_000_000) throw new MusicGenException($"--part-size {request.PartSize} is not between 1 and 1000000");
        if (request.MotOffset is < 0) throw new MusicGenException($"--mot-offset {request.MotOffset} is negative");
        var shard = request.Shard is { } text ? Shard.Parse(text) : Shard.FromEnvironment(Environment.GetEnvironmentVariable) ?? Shard.Whole;
        var (manifest, folder) = OpenInput(request);
        if (File.Exists(request.Output)) throw new MusicGenException($"{request.Output}: is a file; --out names a folder");

        using var checkpoint = ModelArgument.Open(request.Model);
        using var backend = BackendSelector.Open(request.Device);
        var codec = new AudioCodec(backend, checkpoint);
        var config = codec.Model.Config;
        if (config.CodebookSize > short.MaxValue + 1) throw new MusicGenException($"codebooks of {config.CodebookSize} codes do not fit int16 audio_codes");
        double bandwidth = request.Bandwidth ?? config.TargetBandwidths.Max();
        var settings = new DatasetSettings(
            manifest.Fingerprint, manifest.Entries.Count, shard.Count, request.PartSize, request.TestFraction, request.MotOffset,
            request.Cut.ToString(), DatasetCard.ModelName(request.Model), config.SamplingRate, config.FrameRate, codec.Channels, codec.Model.QuantizersFor(bandwidth),
            bandwidth, manifest.ExtraColumns.ToArray());
        var layout = new DatasetLayout(request.Output);
        DatasetBuilder.Claim(layout, settings);

        var source = new ClipSource(folder, request.Cut, config.SamplingRate, codec.Channels);
        var builder = new DatasetBuilder(manifest, settings, layout, source, codec, request.Batch);
        var (start, end) = shard.Range(manifest.Entries.Count);
        Console.WriteLine($"shard {shard}: clips {start}–{end - 1} of {manifest.Entries.Count}{(end == start ? " (none)" : "")}");
        var stopwatch = Stopwatch.StartNew();
        var result = RunWithProgress(builder, shard);
        Console.WriteLine($"{result.Encoded} encoded, {result.Failed} failed ({result.PartsWritten} part(s) written in {stopwatch.Elapsed.TotalSeconds:0.0} s, {result.PartsSkipped} already done)");
        if (shard.Count == 1) Report(DatasetFinalizer.Run(layout), layout);
        else Console.WriteLine($"when every shard is done: musicgen dataset finalize {request.Output}");
        return result.Encoded == 0 && end > start ? CommandRunner.Failure : 0;
    }

    private static (Manifest Manifest, AudioFolder Folder) OpenInput(BuildRequest request)
    {
        if (Directory.Exists(request.Input))
        {
            if (request.Audio is not null) throw new MusicGenException("--audio goes with a manifest; with a folder as input, the folder is the audio");
            var folder = new AudioFolder(request.Input);
            if (folder.RelativePaths.Count == 0) throw new MusicGenException($"{request.Input}: no audio files");
            return (Manifest.FromFolder(folder), folder);
        }
        var manifest = Manifest.Read(request.Input);
        if (request.Audio is null) throw new MusicGenException("--audio DIR is needed with a manifest: the folder holding the clips' audio");
        return (manifest, new AudioFolder(request.Audio));
    }

    private static ShardResult RunWithProgress(DatasetBuilder builder, Shard shard) =>
        ProgressDisplay.Run("encoding", "clips", builder.RemainingClips(shard), report =>
            builder.Run(shard, done => report.Report(done), failure => report.Line($"skipped {failure.Id}: {failure.Reason}")));

    private static void Report(DatasetSummary summary, DatasetLayout layout)
    {
        Console.WriteLine($"{layout.Data}: {summary.Train.Clips} train and {summary.Test.Clips} test clips in {summary.TrainFiles} + {summary.TestFiles} file(s), "
            + $"{(summary.Train.Seconds + summary.Test.Seconds) / 3600:0.###} h of audio, {summary.Train.Tokens + summary.Test.Tokens} tokens");
        Console.WriteLine($"{summary.AudioBytesRead} bytes of audio read, {summary.TokenBytesWritten} bytes of tokens written; {summary.Failed} clip(s) left out (failures.csv); card: {layout.Card}");
    }

    private static Command FinalizeCommand()
    {
        var folder = new Argument<string>("folder") { Description = "The --out folder every shard wrote into" };
        var command = new Command("finalize", "Check that every shard is complete (naming the ones that are not), then write data/*.parquet under their final names, failures.csv and the README.md dataset card") { folder };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var layout = new DatasetLayout(parse.GetValue(folder)!);
            var summary = DatasetFinalizer.Run(layout);
            Report(summary, layout);
            return 0;
        }));
        return command;
    }

    private static Command DecodeCommand()
    {
        var folder = new Argument<string>("folder") { Description = "A finalized dataset folder (data/*.parquet)" };
        var id = new Option<string>("--id") { Description = "The clip's ytid", Required = true };
        var model = CommonOptions.Model();
        var output = CommonOptions.AudioFileOutput($"Audio file to write, its format by the extension ({AudioFormat.KnownExtensions})");
        var format = CommonOptions.SampleFormat();
        var normalize = CommonOptions.Normalize("default None: the codec's output level");
        var device = CommonOptions.Device();
        var command = new Command("decode", "Decode one row's audio_codes back to audio, to listen to what was encoded") { folder, id, model, output, format, normalize, device };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var audio = AudioOutput.Resolve(parse.GetValue(output)!, parse.GetValue(format));
            OutputPath.Check(parse.GetValue(output)!, "--out");
            var layout = new DatasetLayout(parse.GetValue(folder)!);
            string clipId = parse.GetValue(id)!;
            if (!Directory.Exists(layout.Data)) throw new MusicGenException($"{layout.Data}: not found; run musicgen dataset finalize first");
            var found = Directory.EnumerateFiles(layout.Data, "*.parquet").Order(StringComparer.Ordinal)
                .Select(f => DatasetParquet.FindCodesAsync(f, clipId).GetAwaiter().GetResult())
                .FirstOrDefault(c => c is not null)
                ?? throw new MusicGenException($"{clipId}: no such row in {layout.Data}");
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            using var backend = BackendSelector.Open(parse.GetValue(device)!);
            var codec = new AudioCodec(backend, checkpoint);
            var (rows, frames, values) = found;
            if (rows % codec.Channels != 0) throw new MusicGenException($"{clipId}: {rows} rows of codes do not split into {codec.Channels} channel(s)");
            var config = codec.Model.Config;
            var codes = new AudioCodes(codec.Channels, rows / codec.Channels, frames, values.Select(v => (int)v).ToArray(), config.SamplingRate, config.FrameRate, null);
            var clip = codec.Decode(codes);
            AudioFile.Write(parse.GetValue(output)!, clip, audio.SampleFormat, parse.GetValue(normalize) ?? Normalization.None);
            Console.WriteLine($"{parse.GetValue(output)}: {clip.Seconds:0.00} s of {clipId}");
            return 0;
        }));
        return command;
    }
}
