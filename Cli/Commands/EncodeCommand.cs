using System.CommandLine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Kernels;
using MusicGen.Loaders;

namespace MusicGen.Cli.Commands;

/// <summary>
/// <c>musicgen encode IN.wav --model MODEL --out codes.safetensors</c>: audio to EnCodec codes; with several
/// inputs or a folder, a whole music collection into a folder of codes (a token dataset).
/// </summary>
public static class EncodeCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("input")
        {
            Description = "Audio file(s) or folder(s) of audio files: WAV, FLAC, MP3, Ogg Opus or Vorbis, or any other format ffmpeg reads; resampled to the codec's rate",
            Arity = ArgumentArity.OneOrMore,
        };
        var model = CommonOptions.Model();
        var output = CommonOptions.Output("Codes file to write (.safetensors or .json, [channels, codebooks, frames]); with several inputs or a folder, the folder to write one .safetensors per file into, mirroring the input folders");
        var device = CommonOptions.Device();
        var bandwidth = new Option<double?>("--bandwidth") { Description = "Target bandwidth in kbps, one of the codec's (default: its largest)" }
            .Accepts("a number of kbps above 0", kbps => kbps is > 0 and < double.PositiveInfinity);
        var command = new Command("encode", "Encode audio to EnCodec codes: one file, or a collection into a dataset folder") { inputs, model, output, bandwidth, device };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            string[] paths = parse.GetValue(inputs)!;
            string target = parse.GetValue(output)!;
            bool single = paths.Length == 1 && !Directory.Exists(paths[0]);
            if (single && !CommandLineRules.HasExtension(target, ".safetensors", ".json"))
                throw new MusicGenException($"--out takes a .safetensors or .json file name for one input; got '{target}'");
            if (single) OutputPath.Check(target, "--out");
            else CheckDatasetFolder(target);
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            using var backend = BackendSelector.Open(parse.GetValue(device)!);
            using var codec = new AudioCodec(backend, checkpoint);
            double? rate = parse.GetValue(bandwidth);
            if (single)
            {
                Encode(codec, paths[0], target, rate);
                return 0;
            }
            return EncodeCollection(codec, paths, target, rate);
        }));
        return command;
    }

    private static void Encode(AudioCodec codec, string input, string output, double? bandwidth)
    {
        using var audio = AudioFile.Open(input);
        var codes = codec.Encode(audio, bandwidth);
        CodesFile.Save(output, codes);
        Console.WriteLine($"{output}: {codes.Channels} channel(s) × {codes.Codebooks} codebooks × {codes.Frames} frames ({(double)audio.Length / audio.SampleRate:0.00} s at {codes.FrameRate} frames/s)");
    }

    /// <summary>Every input file into the output folder; a file that fails is reported and the rest go on.</summary>
    private static int EncodeCollection(AudioCodec codec, string[] inputs, string folder, double? bandwidth)
    {
        var jobs = inputs.SelectMany(Expand).ToArray();
        if (jobs.Length == 0) throw new MusicGenException($"no audio files in {string.Join(", ", inputs)}");
        var clash = jobs.GroupBy(j => Path.ChangeExtension(j.Relative, null), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new MusicGenException($"{string.Join(" and ", clash.Select(j => j.File))} would write the same codes file; encode them separately");
        int failed = 0;
        foreach (var (file, relative) in jobs)
        {
            string output = Path.Combine(folder, Path.ChangeExtension(relative, ".safetensors"));
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(output)!);
                Encode(codec, file, output, bandwidth);
            }
            catch (Exception e) when (e is MusicGenException or IOException or UnauthorizedAccessException)
            {
                failed++;
                CommandRunner.PrintError(e.Message);
            }
        }
        Console.WriteLine($"{jobs.Length - failed} encoded, {failed} failed");
        return failed == 0 ? 0 : CommandRunner.Failure;
    }

    /// <summary>The dataset folder: an existing folder, or a new one whose parent exists.</summary>
    private static void CheckDatasetFolder(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder)) throw new MusicGenException("--out is empty; give the dataset folder");
        if (Directory.Exists(folder)) return;
        if (Path.Exists(folder))
            throw new MusicGenException($"{folder}: is a file; with several inputs or a folder, --out names a folder");
        string parent = Path.GetDirectoryName(Path.GetFullPath(folder))!;
        if (!Directory.Exists(parent)) throw new MusicGenException($"{folder}: the folder {parent} does not exist");
    }

    /// <summary>A file as itself; a folder as its audio files, with paths relative to it.</summary>
    private static IEnumerable<(string File, string Relative)> Expand(string input)
    {
        if (!Directory.Exists(input)) return [(input, Path.GetFileName(input))];
        return AudioFilesUnder(input)
            .Order(StringComparer.Ordinal)
            .Select(f => (f, Path.GetRelativePath(input, f)));
    }

    /// <summary>
    /// The regular audio files under a folder. Linked folders are not entered (a link to a parent would loop),
    /// and special files (a FIFO would stall the run) are skipped, each with a message.
    /// </summary>
    private static IEnumerable<string> AudioFilesUnder(string folder)
    {
        foreach (string file in Directory.EnumerateFiles(folder).Where(f => AudioFile.Extensions.Contains(Path.GetExtension(f))))
        {
            if (InputFile.IsRegular(file)) yield return file;
            else Console.Error.WriteLine($"skipped {MusicGenException.Printable(file)}: not a regular file");
        }
        foreach (string subfolder in Directory.EnumerateDirectories(folder))
        {
            if (new DirectoryInfo(subfolder).LinkTarget is not null)
            {
                Console.Error.WriteLine($"skipped {MusicGenException.Printable(subfolder)}: a link to a folder is not followed");
                continue;
            }
            foreach (string file in AudioFilesUnder(subfolder)) yield return file;
        }
    }
}
