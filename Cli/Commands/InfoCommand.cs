using System.CommandLine;
using System.Diagnostics;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Kernels;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Cli.Commands;

/// <summary>
/// <c>musicgen info --model MODEL [--device D] [--weights T]</c>: what a checkpoint is; with a device or weight type,
/// also what the loaded model holds in that device's memory.
/// </summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var device = CommonOptions.Device();
        var weights = CommonOptions.Weights(GenerateCommand.DefaultWeights.Name());
        var command = new Command("info", "Describe a checkpoint: kind, sizes, parameter counts, storage types and files; "
            + "with --device or --weights, load it there and print the device memory it holds") { model, device, weights };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            WeightType? given = Given(parse, weights) ? WeightTypes.Parse(parse.GetValue(weights)!) : null;
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            Print(checkpoint);
            if (Given(parse, device) || given is not null)
                PrintDeviceMemory(checkpoint, parse.GetValue(device)!, ModelArgument.WeightsFor(checkpoint.Weights, given, GenerateCommand.DefaultWeights));
            return 0;
        }));
        return command;
    }

    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { IdentifierTokenCount: > 0 };

    /// <summary>Loads the model (a standalone codec: the codec) and prints what the backend counts for it.</summary>
    private static void PrintDeviceMemory(CheckpointFolder checkpoint, string device, WeightType type)
    {
        using var backend = BackendSelector.Open(device);
        var stopwatch = Stopwatch.StartNew();
        using IDisposable loaded = checkpoint.Musicgen is null ? new AudioCodec(backend, checkpoint) : MusicgenModels.Load(backend, checkpoint, type);
        Console.WriteLine($"loaded      {(checkpoint.Musicgen is null ? "the codec" : $"{type.Name()} weights")} on {backend.Name} in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        Console.WriteLine($"device memory: {backend.Memory}");
    }

    private static void Print(CheckpointFolder checkpoint)
    {
        Console.WriteLine($"folder      {checkpoint.Folder}");
        Console.WriteLine($"kind        {checkpoint.ModelType}");
        if (checkpoint.Musicgen is { } musicgen)
        {
            var t = musicgen.TextEncoder;
            var d = musicgen.Decoder;
            Console.WriteLine($"text        T5 encoder: {t.NumLayers} layers, d_model {t.DModel}, {t.NumHeads} heads × {t.DKv}, d_ff {t.DFf} ({(t.IsGatedAct ? "gated-" : "")}{t.DenseActFn}), vocabulary {t.VocabSize}");
            Console.WriteLine($"decoder     {d.NumHiddenLayers} layers, width {d.HiddenSize}, {d.NumAttentionHeads} heads, FFN {d.FfnDim}, {d.NumCodebooks} codebooks × {d.VocabSize}, {(d.AudioChannels == 2 ? "stereo" : "mono")}, up to {d.MaxPositionEmbeddings} positions");
            if (musicgen.Kind == MusicgenKind.MusicgenMelody)
                Console.WriteLine($"melody      {musicgen.NumChroma} chroma bins, {musicgen.ChromaLength} conditioning frames");
        }
        var c = checkpoint.Codec;
        Console.WriteLine($"codec       EnCodec {c.SamplingRate} Hz, {c.FrameRate} frames/s (hop {c.HopLength}), {c.NumQuantizers} quantizers × {c.CodebookSize}, {c.NumFilters} filters, bandwidths {string.Join(", ", c.TargetBandwidths)} kbps");

        var parts = checkpoint.Weights.Names
            .GroupBy(name => name.Split('.')[0])
            .Select(g => (Part: g.Key, Count: g.Sum(n => checkpoint.Weights.Entry(n).ElementCount)))
            .OrderByDescending(p => p.Count);
        Console.WriteLine($"parameters  {Format(checkpoint.Weights.ParameterCount)} in {checkpoint.Weights.Names.Count()} tensors");
        foreach (var (part, count) in parts) Console.WriteLine($"            {part,-24} {Format(count)}");
        var dtypes = checkpoint.Weights.Names.GroupBy(n => checkpoint.Weights.Entry(n).DType).Select(g => $"{g.Key} ×{g.Count()}");
        Console.WriteLine($"storage     {string.Join(", ", dtypes)}");
        if (checkpoint.Weights.QuantizedType is { } quantized)
            Console.WriteLine($"quantized   {quantized.Name()} by musicgen quantize (loads with --weights {quantized.Name()}; the counts above are of stored elements: "
                + "a q4 byte holds two weights, a .scales tensor one scale per block of 32)");
        var g = checkpoint.Generation;
        if (checkpoint.Musicgen is not null)
            Console.WriteLine($"generation  guidance {g.GuidanceScale?.ToString() ?? "-"}, top-k {g.TopK?.ToString() ?? "-"}, top-p {g.TopP?.ToString() ?? "-"}, temperature {g.Temperature?.ToString() ?? "-"}, sampling {(g.DoSample == false ? "off" : "on")}");
        Console.WriteLine("files");
        foreach (string file in Directory.GetFiles(checkpoint.Folder).Order(StringComparer.Ordinal))
            Console.WriteLine($"            {MusicGenException.Printable(Path.GetFileName(file)),-40} {(InputFile.IsRegular(file) ? ByteSize.Format(LengthOf(file)) : "not a regular file")}");
    }

    /// <summary>The length of the file's contents; in a Hugging Face cache the file is a symlink to a blob.</summary>
    private static long LengthOf(string file)
    {
        using var handle = InputFile.OpenHandle(file);
        return RandomAccess.GetLength(handle);
    }

    private static string Format(long count) => count switch
    {
        >= 1_000_000_000 => $"{count / 1e9:0.00} B",
        >= 1_000_000 => $"{count / 1e6:0.00} M",
        >= 1_000 => $"{count / 1e3:0.0} k",
        _ => count.ToString(),
    };
}
