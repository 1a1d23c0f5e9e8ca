using System.CommandLine;
using System.Diagnostics;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders;
using Spectre.Console;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen generate "PROMPT" … --model MODEL --duration S --out OUT.wav</c>: text to music.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var prompts = new Argument<string[]>("prompt") { Description = "Text description(s) of the music; several prompts are generated as one batch", Arity = ArgumentArity.ZeroOrMore };
        var model = CommonOptions.Model();
        var output = CommonOptions.Output("WAV file to write; with several prompts or samples, OUT-1.wav, OUT-2.wav, …");
        var duration = new Option<double?>("--duration", "-d") { Description = "Seconds of audio to generate (at most 30)" };
        var tokens = new Option<int?>("--tokens") { Description = "Decoder steps to run instead of --duration (frames + codebooks − 1)" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the sampler; the same seed gives the same audio (default: random, printed)" };
        var topK = new Option<int?>("--top-k") { Description = "Sample among the k most likely codes (0: all; default from generation_config.json)" };
        var topP = new Option<double?>("--top-p") { Description = "Sample among the most likely codes that make up this probability (default from generation_config.json)" };
        var temperature = new Option<double?>("--temperature") { Description = "Softmax temperature (default from generation_config.json)" };
        var guidance = new Option<double?>("--guidance") { Description = "Classifier-free guidance scale; ≤ 1 turns it off (default from generation_config.json)" };
        var greedy = new Option<bool>("--greedy") { Description = "Take the most likely code at every step instead of sampling" };
        var unconditional = new Option<bool>("--unconditional") { Description = "Generate without text (give no prompt)" };
        var samples = new Option<int>("--samples") { Description = "Pieces to generate with --unconditional", DefaultValueFactory = _ => 1 };
        var format = CommonOptions.WavFormat();
        var command = new Command("generate", "Generate music from text descriptions")
        {
            prompts, model, output, duration, tokens, seed, topK, topP, temperature, guidance, greedy, unconditional, samples, format,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var texts = parse.GetValue(prompts) ?? [];
            bool withoutText = parse.GetValue(unconditional);
            if (withoutText && texts.Length > 0) throw new MusicGenException("--unconditional takes no prompt");
            if (!withoutText && texts.Length == 0) throw new MusicGenException("give a prompt, or --unconditional");
            if (parse.GetValue(duration) is not null && parse.GetValue(tokens) is not null) throw new MusicGenException("give --duration or --tokens, not both");
            if (parse.GetValue(samples) < 1) throw new MusicGenException("--samples must be at least 1");

            var stopwatch = Stopwatch.StartNew();
            using var checkpoint = ModelArgument.Open(parse.GetValue(model)!);
            var generation = checkpoint.Generation;
            ulong chosenSeed = parse.GetValue(seed) ?? (ulong)Random.Shared.NextInt64(0, int.MaxValue);
            var defaults = SamplingOptions.FromGenerationConfig(generation, chosenSeed);
            var sampling = defaults with
            {
                Greedy = parse.GetValue(greedy) || defaults.Greedy,
                GuidanceScale = parse.GetValue(guidance) ?? defaults.GuidanceScale,
                TopK = parse.GetValue(topK) ?? defaults.TopK,
                TopP = parse.GetValue(topP) ?? defaults.TopP,
                Temperature = parse.GetValue(temperature) ?? defaults.Temperature,
            };
            sampling.Validate();

            using var backend = new CpuBackend();
            var musicgen = MusicgenModels.Load(backend, checkpoint);
            var generator = new MusicgenGenerator(backend, musicgen, T5Tokenizer.FromFolder(checkpoint.Folder), generation.DecoderStartTokenId);
            int steps = parse.GetValue(tokens)
                ?? (parse.GetValue(duration) is double seconds ? StepsFor(generator, seconds)
                : generation.MaxNewTokens ?? (generation.MaxLength ?? 1500) - 1);
            var request = new GenerationRequest(texts, steps, sampling, UnconditionalBatch: parse.GetValue(samples));
            Console.Error.WriteLine($"loaded {checkpoint.Folder} in {stopwatch.Elapsed.TotalSeconds:0.0} s; {request.Batch} piece(s), {steps} steps, seed {chosenSeed}, {(sampling.Greedy ? "greedy" : $"top-k {sampling.TopK}, top-p {sampling.TopP}, temperature {sampling.Temperature}")}, guidance {sampling.GuidanceScale}");

            stopwatch.Restart();
            var result = RunWithProgress(generator, request);
            var audio = generator.DecodeAudio(result, out int channels, out int length);
            var elapsed = stopwatch.Elapsed;
            var files = OutputNames(parse.GetValue(output)!, result.Batch);
            int rate = musicgen.Config.AudioEncoder.SamplingRate;
            for (int b = 0; b < result.Batch; b++)
            {
                var clip = new AudioClip(rate, Enumerable.Range(0, channels).Select(c => audio.AsSpan((b * channels + c) * length, length).ToArray()).ToArray());
                WavFile.Write(files[b], clip, parse.GetValue(format));
                Console.WriteLine(files[b]);
            }
            double audioSeconds = (double)length / rate;
            Console.Error.WriteLine($"{result.Batch} × {audioSeconds:0.00} s of audio in {elapsed.TotalSeconds:0.0} s (real-time factor {elapsed.TotalSeconds / (audioSeconds * result.Batch):0.00})");
            return 0;
        }));
        return command;
    }

    private static int StepsFor(MusicgenGenerator generator, double seconds)
    {
        if (!(seconds > 0)) throw new MusicGenException($"--duration {seconds} must be positive");
        return generator.StepsFor(seconds);
    }

    /// <summary>OUT.wav for one piece; OUT-1.wav, OUT-2.wav, … for several.</summary>
    public static string[] OutputNames(string path, int count)
    {
        if (count == 1) return [path];
        string extension = Path.GetExtension(path), stem = path[..^extension.Length];
        return Enumerable.Range(1, count).Select(i => $"{stem}-{i}{extension}").ToArray();
    }

    private static GenerationResult RunWithProgress(MusicgenGenerator generator, GenerationRequest request)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        GenerationResult? result = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new StepsPerSecondColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("generating", maxValue: request.MaxNewTokens);
                result = generator.Generate(request, (step, total) =>
                {
                    task.MaxValue = total;
                    task.Value = step;
                });
                task.StopTask();
            });
        return result!;
    }

    private sealed class StepsPerSecondColumn : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is double speed ? $"{speed:0.0} steps/s" : "– steps/s");
    }
}
