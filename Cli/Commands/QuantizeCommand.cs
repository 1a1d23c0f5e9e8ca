using System.CommandLine;
using System.Diagnostics;
using MusicGen.Engine;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen quantize --model MODEL --weights T --out DIR</c>: a checkpoint whose matrices load without converting.</summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var weights = new Option<string>("--weights")
        {
            Description = "Type to write the text encoder's and decoder's weight matrices in: f16, bf16, q8 (8-bit blocks) or q4 (4-bit blocks) (default q8)",
            DefaultValueFactory = _ => GenerateCommand.DefaultWeights.Name(),
        };
        var output = CommonOptions.Output("New (or empty) folder for the quantized checkpoint, in the Hub layout; load it with --model DIR and the same --weights");
        var command = new Command("quantize", "Write a checkpoint whose weight matrices are stored in a low-precision type, so that it loads without converting them")
        {
            model, weights, output,
        };
        command.SetAction(parse => CommandRunner.Run(() => Run(parse.GetValue(model)!, WeightTypes.Parse(parse.GetValue(weights)!), parse.GetValue(output)!)));
        return command;
    }

    private static int Run(string modelName, WeightType type, string output)
    {
        QuantizedCheckpoint.CheckOutput(type, output);
        var stopwatch = Stopwatch.StartNew();
        using var checkpoint = ModelArgument.Open(modelName);
        long original = checkpoint.Weights.Names.Sum(name => checkpoint.Weights.Entry(name).ByteCount);
        long written = CheckpointQuantizer.Quantize(checkpoint, type, output);
        Console.WriteLine($"wrote {output} ({type.Name()}) in {stopwatch.Elapsed.TotalSeconds:0.0} s: weights {written / 1e9:0.000} GB, "
            + $"{100.0 * written / original:0}% of the {original / 1e9:0.000} GB of tensors of {checkpoint.Folder}; load it with --model {output} --weights {type.Name()}");
        return 0;
    }
}
