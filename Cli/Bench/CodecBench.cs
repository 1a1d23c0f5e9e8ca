using System.Diagnostics;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Cli.Bench;

/// <summary>
/// EnCodec's speed: decode and encode of 10 s of audio (best of a few runs), the floating-point work that takes
/// (counted from the codec's config) and the share of the machine's FMA peak measured in the same run, for the
/// float32 codec and for the one beside low-precision weights.
/// </summary>
public static class CodecBench
{
    private const int Seconds = 10, Runs = 3;

    /// <summary>
    /// Times the codec as <c>encode</c>/<c>decode</c> and float32 weights run it, then as it runs beside
    /// low-precision weights (bfloat16 LSTM matrices, <see cref="EncodecModel.RecurrentTypeFor"/>).
    /// </summary>
    public static void Report(IBackend backend, CheckpointFolder checkpoint)
    {
        double peak = FmaPeak.MeasureGigaflops();
        Console.WriteLine($"float32 FMA peak          {peak:0} GFLOP/s ({Environment.ProcessorCount} threads)");
        foreach (var type in new[] { WeightType.F32, EncodecModel.RecurrentTypeFor(WeightType.Q8) })
        {
            Console.WriteLine(type == WeightType.F32
                ? "codec in float32 (encode, decode, and beside --weights f32):"
                : $"codec beside low-precision weights (--weights f16, bf16, q8, q4: the LSTM matrices in {type.Name()}):");
            using var codec = new EncodecModel(backend, checkpoint.Codec, checkpoint.CodecWeights.WithMatrixType(type));
            Report(codec, peak);
        }
    }

    private static void Report(EncodecModel codec, double peak)
    {
        var config = codec.Config;
        int frames = Seconds * config.FrameRate, quantizers = codec.Quantizer.NumQuantizers;
        var random = new Random(2);
        var codes = Enumerable.Range(0, quantizers * frames).Select(_ => random.Next(config.CodebookSize)).ToArray();
        double decodeBest = double.MaxValue, encodeBest = double.MaxValue;
        for (int run = 0; run <= Runs; run++) // the first run warms up
        {
            var stopwatch = Stopwatch.StartNew();
            using var audio = codec.Decode(codes, 1, quantizers, frames);
            double decode = stopwatch.Elapsed.TotalSeconds;
            stopwatch.Restart();
            codec.Encode(audio, quantizers);
            double encode = stopwatch.Elapsed.TotalSeconds;
            if (run == 0) continue;
            decodeBest = Math.Min(decodeBest, decode);
            encodeBest = Math.Min(encodeBest, encode);
        }
        Print("decode", decodeBest, DecoderFlops(config, frames), peak);
        Print("encode", encodeBest, EncoderFlops(config, frames), peak);
        // The LSTM's recurrent product streams W_hh (16 MiB at 1024 wide in float32) once per step, bound by the
        // cache's bandwidth, not arithmetic: the convolutions' share of the peak is the measure of the GEMM.
        var lstm = codec.Decoder.Lstm;
        double lstmBest = TimeLstm(codec, lstm, frames), lstmFlops = Lstm(config, lstm.Dimension, frames);
        double convolutions = (DecoderFlops(config, frames) - lstmFlops) / (decodeBest - lstmBest) / 1e9;
        Console.WriteLine($"  of which the LSTM       {lstmBest:0.00} s each way ({config.NumLstmLayers} layers × {frames} steps, each reading all of W_hh); " +
            $"the decoder's convolutions {convolutions:0} GFLOP/s, {100 * convolutions / peak:0}% of the FMA peak");
    }

    /// <summary>The LSTM stack alone over the frames of 10 s (best of a few runs).</summary>
    private static double TimeLstm(EncodecModel codec, EncodecLSTM lstm, int frames)
    {
        var random = new Random(3);
        var input = Enumerable.Range(0, lstm.Dimension * frames).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        using var hidden = codec.Backend.Upload(input, 1, lstm.Dimension, frames);
        double best = double.MaxValue;
        for (int run = 0; run < Runs; run++)
        {
            var stopwatch = Stopwatch.StartNew();
            using var output = lstm.Forward(hidden);
            best = Math.Min(best, stopwatch.Elapsed.TotalSeconds);
        }
        return best;
    }

    private static void Print(string what, double seconds, double flops, double peak)
    {
        double gigaflops = flops / seconds / 1e9;
        Console.WriteLine($"EnCodec {what}            {seconds:0.00} s for {Seconds} s of audio (best of {Runs}; real-time factor {seconds / Seconds:0.000}), " +
            $"{flops / 1e9:0.0} GFLOP -> {gigaflops:0} GFLOP/s, {100 * gigaflops / peak:0}% of the FMA peak");
    }

    /// <summary>Floating-point operations (2 per multiply-add) of the decoder's convolutions and LSTM for the given frames.</summary>
    public static double DecoderFlops(EncodecConfig config, int frames)
    {
        int channels = config.NumFilters << config.UpsamplingRatios.Length;
        double flops = Convolution(config.HiddenSize, channels, config.KernelSize, frames) + Lstm(config, channels, frames);
        long length = frames;
        foreach (int ratio in config.UpsamplingRatios)
        {
            flops += Convolution(channels, channels / 2, 2 * ratio, length); // a transposed conv: K products per input step
            length *= ratio;
            channels /= 2;
            flops += config.NumResidualLayers * ResidualBlock(config, channels, length);
        }
        return flops + Convolution(config.NumFilters, config.AudioChannels, config.LastKernelSize, length);
    }

    /// <summary>Floating-point operations of the encoder for audio of the given frames.</summary>
    public static double EncoderFlops(EncodecConfig config, int frames)
    {
        long length = (long)frames * config.HopLength;
        int channels = config.NumFilters;
        double flops = Convolution(config.AudioChannels, channels, config.KernelSize, length);
        foreach (int ratio in config.UpsamplingRatios.Reverse())
        {
            flops += config.NumResidualLayers * ResidualBlock(config, channels, length);
            length /= ratio;
            flops += Convolution(channels, 2 * channels, 2 * ratio, length);
            channels *= 2;
        }
        return flops + Lstm(config, channels, frames) + Convolution(channels, config.HiddenSize, config.LastKernelSize, frames);
    }

    private static double Convolution(int inChannels, int outChannels, int kernel, long outputs) => 2.0 * inChannels * outChannels * kernel * outputs;

    private static double ResidualBlock(EncodecConfig config, int dim, long length) =>
        Convolution(dim, dim / config.Compress, config.ResidualKernelSize, length) + Convolution(dim / config.Compress, dim, 1, length)
        + (config.UseConvShortcut ? Convolution(dim, dim, 1, length) : 0);

    /// <summary>Each layer, each step: the input and the recurrent product, 4H × H each.</summary>
    private static double Lstm(EncodecConfig config, int dimension, long steps) => config.NumLstmLayers * 2 * 2.0 * 4 * dimension * dimension * steps;
}
