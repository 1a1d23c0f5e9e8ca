using System.CommandLine;
using System.Diagnostics;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Kernels;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using Spectre.Console;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen generate "PROMPT" … --model DIR --duration S --out OUT.wav</c>: text to music.</summary>
public sealed class GenerateCommand
{
    private readonly Argument<string[]> Prompts = new("prompt")
    {
        Description = "Text description(s) of the music; several prompts are generated as one batch",
        Arity = ArgumentArity.ZeroOrMore,
    };
    private readonly Option<double?> Duration = new("--duration", "-d")
    {
        Description = "Seconds of audio to write, an audio prompt included (at most 30; default from generation_config.json)",
    };
    private readonly Option<int?> Tokens = new("--tokens") { Description = "New decoder steps to run instead of --duration (frames + codebooks − 1)" };
    private readonly Option<ulong?> Seed = new("--seed") { Description = "Seed of the sampler; the same seed gives the same audio (default: random, printed)" };
    private readonly Option<int?> TopK = new("--top-k") { Description = "Sample among the k most likely codes (0: all; default from generation_config.json)" };
    private readonly Option<double?> TopP = new("--top-p") { Description = "Sample among the most likely codes that make up this probability (default from generation_config.json)" };
    private readonly Option<double?> Temperature = new("--temperature") { Description = "Softmax temperature (default from generation_config.json)" };
    private readonly Option<double?> Guidance = new("--guidance") { Description = "Classifier-free guidance scale; ≤ 1 turns it off (default from generation_config.json)" };
    private readonly Option<bool> Greedy = new("--greedy") { Description = "Take the most likely code at every step instead of sampling" };
    private readonly Option<bool> Unconditional = new("--unconditional") { Description = "Generate without text (give no prompt)" };
    private readonly Option<int?> Samples = new("--samples") { Description = "Pieces to generate with --unconditional (default 1, or one per audio prompt)" };
    private readonly Option<string[]> Continue = new("--continue")
    {
        Description = "Audio to continue (WAV, or any format ffmpeg reads): one file for every prompt, or one per prompt; the output starts with it",
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<string?> SaveCodes = new("--save-codes")
    {
        Description = "Also write the generated EnCodec codes ([channels, codebooks, frames], .safetensors or .json; numbered like --out), for musicgen decode",
    };
    private readonly Option<string[]> Melody = new("--melody")
    {
        Description = "Tune whose chroma a melody checkpoint follows (WAV, or any format ffmpeg reads): one for every prompt, or one per prompt",
        AllowMultipleArgumentsPerToken = false,
    };

    private GenerateCommand() { }

    public static Command Create() => new GenerateCommand().Build();

    private Command Build()
    {
        var model = CommonOptions.Model();
        var output = CommonOptions.Output("WAV file to write; with several prompts or samples, OUT-1.wav, OUT-2.wav, …");
        var format = CommonOptions.WavFormat();
        var device = CommonOptions.Device();
        var weights = CommonOptions.Weights(DefaultWeights.Name());
        var command = new Command("generate", "Generate music from text descriptions, optionally continuing audio or following a melody")
        {
            Prompts, model, output, Duration, Tokens, Seed, TopK, TopP, Temperature, Guidance, Greedy, Unconditional, Samples, Continue, Melody, SaveCodes, format, device, weights,
        };
        command.SetAction(parse => CommandRunner.Run(() => Run(parse, parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(format), parse.GetValue(device)!,
            WeightTypes.Parse(parse.GetValue(weights)!))));
        return command;
    }

    /// <summary>The weight type generate uses unless told otherwise (README, Speed: why).</summary>
    public const WeightType DefaultWeights = WeightType.Q8;

    private int Run(ParseResult parse, string modelName, string output, WavSampleFormat format, string device, WeightType weightType)
    {
        var texts = parse.GetValue(Prompts) ?? [];
        var continueFiles = parse.GetValue(Continue) ?? [];
        var melodyFiles = parse.GetValue(Melody) ?? [];
        bool withoutText = parse.GetValue(Unconditional);
        if (withoutText && texts.Length > 0) throw new MusicGenException("--unconditional takes no prompt");
        if (!withoutText && texts.Length == 0) throw new MusicGenException("give a prompt, or --unconditional");
        if (parse.GetValue(Duration) is not null && parse.GetValue(Tokens) is not null) throw new MusicGenException("give --duration or --tokens, not both");
        int batch = texts.Length > 0 ? texts.Length : parse.GetValue(Samples) ?? Math.Max(1, Math.Max(continueFiles.Length, melodyFiles.Length));
        if (batch < 1) throw new MusicGenException("--samples must be at least 1");

        var stopwatch = Stopwatch.StartNew();
        using var checkpoint = ModelArgument.Open(modelName);
        var sampling = Sampling(parse, checkpoint);
        using var backend = BackendSelector.Open(device);
        var musicgen = MusicgenModels.Load(backend, checkpoint, weightType);
        var generator = new MusicgenGenerator(backend, musicgen, T5Tokenizer.FromFolder(checkpoint.Folder), checkpoint.Generation.DecoderStartTokenId);
        var audioPrompt = continueFiles.Length > 0 ? ReadAudioPrompt(continueFiles, batch, musicgen) : null;
        var melody = melodyFiles.Length > 0 ? ReadMelody(melodyFiles, batch, checkpoint) : null;
        int steps = Steps(parse, checkpoint, generator, audioPrompt, musicgen.Config.AudioEncoder.HopLength);
        var request = new GenerationRequest(texts, steps, sampling, batch, audioPrompt, melody);
        Console.Error.WriteLine($"loaded {checkpoint.Folder} ({weightType.Name()} weights) on {backend.Name} in {stopwatch.Elapsed.TotalSeconds:0.0} s; {request.Batch} piece(s), {steps} steps, seed {sampling.Seed}, "
            + $"{(sampling.Greedy ? "greedy" : $"top-k {sampling.TopK}, top-p {sampling.TopP}, temperature {sampling.Temperature}")}, guidance {sampling.GuidanceScale}");

        stopwatch.Restart();
        var result = RunWithProgress(generator, request);
        var audio = generator.DecodeAudio(result, out int channels, out int length);
        var elapsed = stopwatch.Elapsed;
        int rate = musicgen.Config.AudioEncoder.SamplingRate;
        var files = OutputNames(output, result.Batch);
        double written = 0;
        for (int b = 0; b < result.Batch; b++)
        {
            // MusicgenProcessor.batch_decode: the left padding of a shorter audio prompt is cut off again.
            int padding = audioPrompt?.PaddingOf(b) ?? 0;
            var clip = new AudioClip(rate, Enumerable.Range(0, channels)
                .Select(c => audio.AsSpan((b * channels + c) * length + padding, length - padding).ToArray()).ToArray());
            WavFile.Write(files[b], clip, format);
            written += clip.Seconds;
            Console.WriteLine(files[b]);
        }
        if (parse.GetValue(SaveCodes) is string codesPath)
        {
            var codeFiles = OutputNames(codesPath, result.Batch);
            for (int b = 0; b < result.Batch; b++)
            {
                CodesFile.Save(codeFiles[b], ItemCodes(result, b, channels, musicgen.Config.AudioEncoder));
                Console.WriteLine(codeFiles[b]);
            }
        }
        double generated = (double)(result.Frames - result.PromptFrames) * result.Batch / musicgen.Config.AudioEncoder.FrameRate;
        Console.Error.WriteLine($"{written:0.00} s of audio ({generated:0.00} s generated) in {elapsed.TotalSeconds:0.0} s (real-time factor {elapsed.TotalSeconds / generated:0.00})");
        return 0;
    }

    /// <summary>The codes of one item, [channels, codebooks per channel, frames] (stereo codebooks are interleaved L0 R0 L1 R1 …).</summary>
    private static AudioCodes ItemCodes(GenerationResult result, int item, int channels, Loaders.Configs.EncodecConfig codec)
    {
        int perChannel = result.Codebooks / channels, frames = result.Frames;
        var values = new int[result.Codebooks * frames];
        for (int c = 0; c < channels; c++)
            for (int k = 0; k < perChannel; k++)
                result.Codes.AsSpan((item * result.Codebooks + k * channels + c) * frames, frames).CopyTo(values.AsSpan((c * perChannel + k) * frames));
        return new AudioCodes(channels, perChannel, frames, values, codec.SamplingRate, codec.FrameRate, Samples: null);
    }

    /// <summary>The checkpoint's generation_config.json, overridden by the options.</summary>
    private SamplingOptions Sampling(ParseResult parse, CheckpointFolder checkpoint)
    {
        ulong seed = parse.GetValue(Seed) ?? (ulong)Random.Shared.NextInt64(0, int.MaxValue);
        var defaults = SamplingOptions.FromGenerationConfig(checkpoint.Generation, seed);
        var sampling = defaults with
        {
            Greedy = parse.GetValue(Greedy) || defaults.Greedy,
            GuidanceScale = parse.GetValue(Guidance) ?? defaults.GuidanceScale,
            TopK = parse.GetValue(TopK) ?? defaults.TopK,
            TopP = parse.GetValue(TopP) ?? defaults.TopP,
            Temperature = parse.GetValue(Temperature) ?? defaults.Temperature,
        };
        sampling.Validate();
        return sampling;
    }

    /// <summary>New decoder steps: --tokens, or what --duration leaves after the audio prompt, or the checkpoint's default.</summary>
    private int Steps(ParseResult parse, CheckpointFolder checkpoint, MusicgenGenerator generator, AudioPrompt? prompt, int hop)
    {
        if (parse.GetValue(Tokens) is int tokens) return tokens;
        int promptFrames = prompt is null ? 0 : (prompt.Length + hop - 1) / hop;
        if (parse.GetValue(Duration) is not double seconds)
            return checkpoint.Generation.MaxNewTokens ?? (checkpoint.Generation.MaxLength ?? 1500) - 1 - promptFrames;
        if (!(seconds > 0)) throw new MusicGenException($"--duration {seconds} must be positive");
        int steps = generator.StepsFor(seconds) - promptFrames;
        if (steps < 1)
            throw new MusicGenException($"--duration {seconds} s leaves nothing to generate after the audio prompt ({(double)prompt!.Length / checkpoint.Codec.SamplingRate:0.00} s)");
        return steps;
    }

    /// <summary>The audio prompts at the codec's rate and the model's channels, left-padded as MusicgenProcessor does.</summary>
    private static AudioPrompt ReadAudioPrompt(string[] files, int batch, IMusicgenModel model)
    {
        var clips = PerItem(files, batch, "--continue")
            .Select(file => AudioFile.ReadAt(file, model.Config.AudioEncoder.SamplingRate, model.Config.Decoder.AudioChannels))
            .ToArray();
        for (int i = 0; i < clips.Length; i++)
            if (clips[i].Channels.All(c => c.All(v => v == 0f))) Console.Error.WriteLine($"warning: the audio prompt {files[Math.Min(i, files.Length - 1)]} is silent");
        return AudioPrompt.FromClips(clips.Select(c => c.Channels).ToArray());
    }

    /// <summary>The one-hot chroma of the tunes, as the melody feature extractor computes it.</summary>
    private static MelodyChroma ReadMelody(string[] files, int batch, CheckpointFolder checkpoint)
    {
        if (checkpoint.Kind != CheckpointKind.MusicgenMelody)
            throw new MusicGenException($"--melody needs a melody checkpoint (such as facebook/musicgen-melody); {checkpoint.Folder} is {checkpoint.ModelType}");
        var extractor = ChromaFeatureExtractor.FromFolder(checkpoint.Folder);
        var waveforms = new List<float[]>();
        foreach (string file in PerItem(files, batch, "--melody"))
        {
            var waveform = extractor.MonoWaveform(AudioFile.Read(file));
            double seconds = (double)waveform.Length / extractor.SampleRate;
            if (waveform.Length > extractor.MaxSamples)
                throw new MusicGenException($"{file}: the melody is {seconds:0.0} s; this model follows at most {extractor.MaxSamples / extractor.SampleRate} s");
            if (waveform.Length < extractor.HopLength)
                throw new MusicGenException($"{file}: the melody is {waveform.Length} samples, too short for one chroma frame ({extractor.HopLength} samples)");
            if (waveform.All(v => v == 0f)) throw new MusicGenException($"{file}: the melody is silent; it has no pitch to follow");
            waveforms.Add(waveform);
        }
        var oneHot = extractor.Extract(waveforms, out int frames);
        return new MelodyChroma(waveforms.Count, frames, extractor.NumChroma, oneHot);
    }

    /// <summary>One file for every item, or exactly one per item.</summary>
    private static string[] PerItem(string[] files, int batch, string option)
    {
        if (files.Length == 1) return Enumerable.Repeat(files[0], batch).ToArray();
        if (files.Length != batch) throw new MusicGenException($"{option} takes one file for every piece or one per piece; got {files.Length} for {batch}");
        return files;
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
