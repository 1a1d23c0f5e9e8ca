using System.CommandLine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Kernels;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen encode IN.wav --model MODEL --out codes.safetensors</c>: audio to EnCodec codes.</summary>
public static class EncodeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "Audio file to encode: WAV, or any format ffmpeg reads; resampled to the codec's rate" };
        var model = CommonOptions.Model();
        var output = CommonOptions.Output("Codes file to write: .safetensors or .json ([channels, codebooks, frames])");
        var device = CommonOptions.Device();
        var bandwidth = new Option<double?>("--bandwidth") { Description = "Target bandwidth in kbps, one of the codec's (default: its largest)" };
        var command = new Command("encode", "Encode a WAV file to EnCodec codes") { input, model, output, bandwidth, device };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            var clip = AudioFile.Read(parse.GetValue(input)!);
            using var backend = BackendSelector.Open(parse.GetValue(device)!);
            var codes = new AudioCodec(backend, checkpoint).Encode(clip, parse.GetValue(bandwidth));
            CodesFile.Save(parse.GetValue(output)!, codes);
            Console.WriteLine($"{parse.GetValue(output)}: {codes.Channels} channel(s) × {codes.Codebooks} codebooks × {codes.Frames} frames ({clip.Seconds:0.00} s at {codes.FrameRate} frames/s)");
            return 0;
        }));
        return command;
    }
}
