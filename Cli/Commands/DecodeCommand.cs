using System.CommandLine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Kernels;
using MusicGen.Loaders;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen decode codes.safetensors --model MODEL --out OUT.wav</c>: EnCodec codes to audio.</summary>
public static class DecodeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("codes") { Description = "Codes file written by encode or generate (.safetensors or .json)" };
        var model = CommonOptions.Model();
        var output = CommonOptions.AudioFileOutput($"Audio file to write, its format by the extension ({AudioFormat.KnownExtensions})");
        var format = CommonOptions.SampleFormat();
        var normalize = CommonOptions.Normalize("default None: the codec's output level");
        var device = CommonOptions.Device();
        var command = new Command("decode", "Decode EnCodec codes to an audio file") { input, model, output, format, normalize, device };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var audio = AudioOutput.Resolve(parse.GetValue(output)!, parse.GetValue(format));
            OutputPath.Check(parse.GetValue(output)!, "--out");
            var codes = CodesFile.Load(parse.GetValue(input)!);
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            using var backend = BackendSelector.Open(parse.GetValue(device)!);
            using var codec = new AudioCodec(backend, checkpoint);
            var clip = codec.Decode(codes);
            AudioFile.Write(parse.GetValue(output)!, clip, audio.SampleFormat, parse.GetValue(normalize) ?? Normalization.None);
            Console.WriteLine($"{parse.GetValue(output)}: {clip.ChannelCount} channel(s), {clip.Length} samples ({clip.Seconds:0.00} s at {clip.SampleRate} Hz)");
            return 0;
        }));
        return command;
    }
}
