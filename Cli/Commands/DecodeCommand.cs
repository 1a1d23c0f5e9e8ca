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
        var output = CommonOptions.Output("WAV file to write");
        var format = CommonOptions.WavFormat();
        var device = CommonOptions.Device();
        output.Accepts("a .wav file name", path => CommandLineRules.HasExtension(path, ".wav"));
        var command = new Command("decode", "Decode EnCodec codes to a WAV file") { input, model, output, format, device };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            OutputPath.Check(parse.GetValue(output)!, "--out");
            string path = parse.GetValue(output)!;
            var wav = parse.GetValue(format);
            var codes = CodesFile.Load(parse.GetValue(input)!);
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            using var backend = BackendSelector.Open(parse.GetValue(device)!);
            using var codec = new AudioCodec(backend, checkpoint);
            long samples = codec.DecodedLength(codes);
            // Written as it is decoded, a piece at a time: the length is known, so the header is exact from the start.
            WavFile.Write(path, stream =>
            {
                WavWriter.WriteHeader(stream, codec.Channels, codec.Model.Config.SamplingRate, wav, samples, path);
                codec.Decode(codes, piece => WavWriter.WriteSamples(stream, piece, wav));
            });
            Console.WriteLine($"{path}: {codec.Channels} channel(s), {samples} samples ({samples / (double)codec.Model.Config.SamplingRate:0.00} s at {codec.Model.Config.SamplingRate} Hz)");
            return 0;
        }));
        return command;
    }
}
