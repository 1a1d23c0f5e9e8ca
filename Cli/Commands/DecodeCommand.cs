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
            string path = parse.GetValue(output)!;
            var codes = CodesFile.Load(parse.GetValue(input)!);
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            using var backend = BackendSelector.Open(parse.GetValue(device)!);
            using var codec = new AudioCodec(backend, checkpoint);
            var normalization = parse.GetValue(normalize) ?? Normalization.None;
            if (normalization != Normalization.None)
            {
                // Normalizing measures the whole piece first.
                var clip = codec.Decode(codes);
                AudioFile.Write(path, clip, audio.SampleFormat, normalization);
                Console.WriteLine($"{path}: {clip.ChannelCount} channel(s), {clip.Length} samples ({clip.Seconds:0.00} s at {clip.SampleRate} Hz)");
                return 0;
            }
            long samples = codec.DecodedLength(codes);
            int rate = codec.Model.Config.SamplingRate;
            // Written as it is decoded, a piece at a time: the length is known, so the header is exact from the start.
            AudioFile.Write(path, rate, codec.Channels, samples, audio.SampleFormat, writer => codec.Decode(codes, piece => writer.Write(piece.Channels)));
            Console.WriteLine($"{path}: {codec.Channels} channel(s), {samples} samples ({samples / (double)rate:0.00} s at {rate} Hz)");
            return 0;
        }));
        return command;
    }
}
