using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Kernels;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;

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
        Description = "Seconds of audio to write, an audio prompt included, up to an hour: beyond --window, window by window as audiocraft extends a piece (default from generation_config.json)",
    };
    private readonly Option<double?> Window = new("--window") { Description = "Seconds of each window of a long piece (default: the model's 30)" };
    private readonly Option<double?> ExtendStride = new("--extend-stride")
    {
        Description = $"Seconds between the starts of the windows of a long piece; each window continues the last (window − stride) seconds of the one before (default {MusicRequest.DefaultExtendStride})",
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
        Description = "Audio to continue (WAV, FLAC, MP3, Ogg, or any format ffmpeg reads): one file for every prompt, or one per prompt; the output starts with it",
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<string?> SaveCodes = new("--save-codes")
    {
        Description = "Also write the generated EnCodec codes ([channels, codebooks, frames], .safetensors or .json; numbered like --out), for musicgen decode",
    };
    private readonly Option<string?> OutFormat = new("--out-format")
    {
        Description = "With --out -: the format streamed to standard output: wav (default), flac, opus, mp3 or aac (mp3 and aac through ffmpeg)",
    };
    private readonly Option<string[]> Melody = new("--melody")
    {
        Description = "Tune whose chroma a melody checkpoint follows (WAV, FLAC, MP3, Ogg, or any format ffmpeg reads): one for every prompt, or one per prompt",
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<string[]> Then = new("--then")
    {
        Description = "SECONDS TEXT: from the first window that starts at or after SECONDS into the piece, the text is TEXT (repeatable, in order of time; a long piece)",
        Arity = new ArgumentArity(2, 2),
        AllowMultipleArgumentsPerToken = true,
    };
    private readonly Option<bool> Forever = new("--forever")
    {
        Description = "With --out -: generate without end, window after window, until Ctrl-C or SIGTERM (the stream ends well-formed) or the reader closes the pipe (exit 0); --duration 0 says the same",
    };
    private readonly Option<string?> Schedule = new("--schedule")
    {
        Description = "A file of text changes, one a line: SECONDS TEXT (blank lines and lines starting with # skipped), as --then gives them",
    };

    /// <summary>The most pieces one run generates as a batch.</summary>
    private const int MaxSamples = 64;

    /// <summary>The option the request's schedule came from, for its errors.</summary>
    private string _scheduleOption = "--then";

    private GenerateCommand() { }

    public static Command Create() => new GenerateCommand().Build();

    private Command Build()
    {
        var model = CommonOptions.Model();
        var output = CommonOptions.Output($"Audio file to write, its format by the extension ({AudioFormat.KnownExtensions}); with several prompts or samples, OUT-1.wav, OUT-2.wav, …; - streams one piece to standard output while it is generated");
        var format = CommonOptions.SampleFormat();
        var normalize = CommonOptions.Normalize("default Loudness for a file, None for standard output");
        var device = CommonOptions.Device();
        var weights = CommonOptions.Weights(DefaultWeights.Name());
        var adapters = CommonOptions.Adapters();
        var cache = CommonOptions.Cache();
        Prompts.NotBlank();
        output.Accepts($"an audio file name ({AudioFormat.KnownExtensions}), or - for standard output", path => path == AudioOutput.StandardOutput || AudioFormat.FromExtension(path) is not null);
        OutFormat.Accepts("wav, flac, opus, mp3 or aac", name => AudioFormat.FromName(name!) is { CanStream: true });
        SaveCodes.Accepts("a .safetensors or .json file name", path => CommandLineRules.HasExtension(path!, ".safetensors", ".json"));
        Duration.Accepts($"a number of seconds above 0 and at most {MusicRequest.MaxDuration} (an hour), or 0 for no end (--forever)", seconds => seconds is >= 0 and <= MusicRequest.MaxDuration);
        Window.Accepts($"a number of seconds above 0 and at most {MusicRequest.MaxWindow}", seconds => seconds is > 0 and <= MusicRequest.MaxWindow);
        ExtendStride.Accepts($"a number of seconds above 0 and below the window", seconds => seconds is > 0 and < MusicRequest.MaxWindow);
        Tokens.Accepts("a whole number of steps from 1 to 100000", tokens => tokens is >= 1 and <= 100_000);
        Samples.Accepts($"a whole number from 1 to {MaxSamples}", samples => samples is >= 1 and <= MaxSamples);
        Continue.EachAccepts("an audio file name", path => !string.IsNullOrWhiteSpace(path));
        Melody.EachAccepts("an audio file name", path => !string.IsNullOrWhiteSpace(path));
        var command = new Command("generate", "Generate music from text descriptions, optionally continuing audio or following a melody")
        {
            Prompts, model, output, OutFormat, Duration, Window, ExtendStride, Tokens, Seed, TopK, TopP, Temperature, Guidance, Greedy, Unconditional, Samples, Continue, Melody, Then, Schedule, Forever, SaveCodes, format, normalize, device, weights, cache, adapters,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(Samples) is not null && !result.GetValue(Unconditional)) result.AddError("--samples goes with --unconditional; with prompts, give one prompt per piece");
            if (result.GetResult(Then) is not null && result.GetResult(Schedule) is not null) result.AddError("give --then or --schedule, not both");
        });
        command.SetAction(parse => CommandRunner.Run(() => Run(parse, parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(format), parse.GetValue(normalize),
            parse.GetValue(device)!, CommonOptions.GivenWeights(parse, weights), CommonOptions.CacheType(parse.GetValue(cache)), CommonOptions.AdapterList(parse.GetValue(adapters)))));
        return command;
    }

    /// <summary>The weight type generate uses unless told otherwise (README, Speed: why).</summary>
    public const WeightType DefaultWeights = WeightType.Q8;

    /// <summary>The engine's limits on a request, and <see cref="MaxSamples"/>.</summary>
    private static readonly RequestLimits Limits = new(MaxItems: MaxSamples);

    private int Run(ParseResult parse, string modelName, string output, SampleFormat? sampleFormat, Normalization? normalization, string device, WeightType? givenWeights,
        WeightType? cacheType, IReadOnlyList<AdapterReference> adapters)
    {
        bool toStandardOutput = output == AudioOutput.StandardOutput;
        if (parse.GetResult(Schedule) is not null) _scheduleOption = Schedule.Name;
        var audio = AudioOutput.Resolve(output, sampleFormat, parse.GetValue(OutFormat));
        var normalize = normalization ?? (toStandardOutput ? Normalization.None : Normalization.Loudness);
        if (toStandardOutput && normalize != Normalization.None)
            throw new MusicGenException($"--normalize {normalize} needs the whole piece; --out - writes the audio as it is generated (leave --normalize out)");
        bool forever = parse.GetValue(Forever) || parse.GetValue(Duration) == 0;
        if (forever && !toStandardOutput)
            throw new MusicGenException($"--forever (or --duration 0) streams without end: give --out - (and pipe it to a player or encoder), not a file");
        var texts = parse.GetValue(Prompts) ?? [];
        bool withoutText = parse.GetValue(Unconditional);
        if (withoutText && texts.Length > 0) throw new MusicGenException("--unconditional takes no prompt");
        if (!withoutText && texts.Length == 0) throw new MusicGenException("give a prompt, or --unconditional");
        var request = new MusicRequest
        {
            Prompts = texts,
            Samples = withoutText ? parse.GetValue(Samples) : null,
            Duration = forever ? null : parse.GetValue(Duration),
            Forever = forever,
            Window = parse.GetValue(Window),
            ExtendStride = parse.GetValue(ExtendStride),
            Steps = parse.GetValue(Tokens),
            Seed = parse.GetValue(Seed),
            Greedy = parse.GetValue(Greedy),
            TopK = parse.GetValue(TopK),
            TopP = parse.GetValue(TopP),
            Temperature = parse.GetValue(Temperature),
            Guidance = parse.GetValue(Guidance),
            AudioPrompts = ReadAll(parse.GetValue(Continue) ?? [], Continue.Name, warnIfSilent: true, MusicRequest.MaxWindow),
            // A long piece may follow a tune as long as itself (each window takes its part).
            Melodies = ReadAll(parse.GetValue(Melody) ?? [], Melody.Name, warnIfSilent: false, Math.Max(MusicRequest.MaxWindow, parse.GetValue(Duration) ?? 0)),
            Schedule = parse.GetValue(Schedule) is string scheduleFile ? PromptScheduleText.ReadFile(scheduleFile, Schedule.Name) : PromptScheduleText.FromPairs(parse.GetValue(Then) ?? [], Then.Name),
        };
        // What needs no model is refused before the model loads.
        InOptions(() => request.Validate(Limits));
        if (toStandardOutput && request.Items != 1) throw new MusicGenException($"--out - streams one piece; this request makes {request.Items}");
        foreach (string file in OutputNames(output, request.Items)) OutputPath.Check(file, "--out");
        if (parse.GetValue(SaveCodes) is string codes)
            foreach (string file in OutputNames(codes, request.Items)) OutputPath.Check(file, "--save-codes");

        var stopwatch = Stopwatch.StartNew();
        using var backend = BackendSelector.Open(device);
        string folder = ModelArgument.Resolve(modelName);
        var weightType = ModelArgument.WeightsFor(folder, givenWeights, DefaultWeights);
        using var pipeline = MusicgenPipeline.Open(folder, backend, adapters, line => Console.Error.WriteLine(line), weightType, cacheType);
        var plan = InOptions(() => pipeline.Prepare(request, Limits));
        var sampling = plan.Sampling;
        string merged = adapters.Count == 0 ? "" : $" with adapter{(adapters.Count > 1 ? "s" : "")} {string.Join(", ", adapters)}";
        Console.Error.WriteLine($"loaded {pipeline.Folder}{merged} ({weightType.Name()} weights, {pipeline.CacheType.Name()} cache) on {backend.Name} in {stopwatch.Elapsed.TotalSeconds:0.0} s; {plan.Batch} piece(s), {plan.Steps} steps, seed {sampling.Seed}, "
            + $"{(sampling.Greedy ? "greedy" : $"top-k {sampling.TopK}, top-p {sampling.TopP}, temperature {sampling.Temperature}")}, guidance {sampling.GuidanceScale}");

        stopwatch.Restart();
        using var cancellation = new CancellationTokenSource();
        using var interrupt = CancelOnSignals(cancellation);
        double written = 0;
        MusicCodes result;
        string[] files = [];
        using var outputs = AtomicFile.BeginGroup();
        if (plan.IsEndless)
        {
            return StreamForever(pipeline, plan, audio, cancellation.Token);
        }
        else if (toStandardOutput)
        {
            using var stdout = OpenStandardOutput();
            using var writer = audio.Format.OpenWriter(stdout, pipeline.SampleRate, pipeline.Channels, audio.SampleFormat, displayName: "standard output");
            try
            {
                result = RunWithProgress(plan, (progress, token) => pipeline.Generate(plan, chunk => writer.Write(chunk.Clip(0).Channels), progress, token), cancellation.Token);
                writer.Finish();
            }
            catch (IOException)
            {
                // Nobody listens any more: the rest of the piece would be generated for nothing, and its codes are incomplete.
                Console.Error.WriteLine($"the reader closed standard output after {(double)writer.Frames / pipeline.SampleRate:0.00} s of audio; stopped");
                return 0;
            }
            written = (double)writer.Frames / pipeline.SampleRate;
        }
        else
        {
            var music = RunWithProgress(plan, (progress, token) => pipeline.Generate(plan, progress, token), cancellation.Token);
            result = new MusicCodes(music.Codes, music.PromptFrames, music.FrameRate, music.Seed);
            files = OutputNames(output, plan.Batch);
            for (int b = 0; b < plan.Batch; b++)
            {
                var clip = music.Audio.Clip(b);
                AudioFile.Write(files[b], clip, audio.SampleFormat, normalize);
                written += clip.Seconds;
            }
        }
        var elapsed = stopwatch.Elapsed;
        var codeFiles = parse.GetValue(SaveCodes) is string codesPath ? OutputNames(codesPath, plan.Batch) : [];
        for (int b = 0; b < codeFiles.Length; b++)
            CodesFile.Save(codeFiles[b], result.Codes.ToAudioCodes(b, pipeline.SampleRate, pipeline.FrameRate));
        outputs.Commit();
        // Streaming to standard output leaves it to the audio: the file names go to standard error then.
        foreach (string file in files.Concat(codeFiles)) (toStandardOutput ? Console.Error : Console.Out).WriteLine(file);
        double generated = result.GeneratedSeconds * plan.Batch;
        Console.Error.WriteLine($"{written:0.00} s of audio ({generated:0.00} s generated) in {elapsed.TotalSeconds:0.0} s (real-time factor {elapsed.TotalSeconds / generated:0.00})");
        return 0;
    }

    /// <summary>
    /// Streams a piece without end to standard output until a signal cancels it (the stream is finished, so that it
    /// ends well-formed) or the reader closes the pipe (nothing more can be written): both end the run with 0.
    /// </summary>
    private static int StreamForever(MusicgenPipeline pipeline, GenerationPlan plan, AudioOutput audio, CancellationToken cancellation)
    {
        long frames = 0;
        try
        {
            using var stdout = OpenStandardOutput();
            using var writer = audio.Format.OpenWriter(stdout, pipeline.SampleRate, pipeline.Channels, audio.SampleFormat, displayName: "standard output");
            try
            {
                pipeline.Generate(plan, chunk =>
                {
                    writer.Write(chunk.Clip(0).Channels);
                    frames = writer.Frames;
                }, cancellation: cancellation);
            }
            catch (OperationCanceledException)
            {
                writer.Finish();
                Console.Error.WriteLine($"stopped after {(double)frames / pipeline.SampleRate:0.00} s of audio");
            }
        }
        catch (IOException)
        {
            Console.Error.WriteLine($"the reader closed standard output after {(double)frames / pipeline.SampleRate:0.00} s of audio");
        }
        return 0;
    }

    /// <summary>
    /// Standard output as a stream on its descriptor where there is one: Console.OpenStandardOutput's writes ignore a
    /// closed pipe (EPIPE), while this stream reports it as an IOException.
    /// </summary>
    private static Stream OpenStandardOutput() => OperatingSystem.IsWindows()
        ? Console.OpenStandardOutput()
        : new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    /// <summary>Runs <paramref name="check"/>; a refusal of the request names the options that set its fields.</summary>
    private void InOptions(Action check) => InOptions(() =>
    {
        check();
        return 0;
    });

    /// <summary>Runs <paramref name="body"/>; a refusal of the request names the options that set its fields.</summary>
    private T InOptions<T>(Func<T> body)
    {
        try
        {
            return body();
        }
        catch (InvalidRequestException e) when (e.Template is not null)
        {
            var options = new Dictionary<string, string>
            {
                [nameof(MusicRequest.Prompts)] = "prompt",
                [nameof(MusicRequest.Samples)] = Samples.Name,
                [nameof(MusicRequest.Duration)] = Duration.Name,
                [nameof(MusicRequest.Window)] = Window.Name,
                [nameof(MusicRequest.ExtendStride)] = ExtendStride.Name,
                [nameof(MusicRequest.Steps)] = Tokens.Name,
                [nameof(MusicRequest.Seed)] = Seed.Name,
                [nameof(MusicRequest.TopK)] = TopK.Name,
                [nameof(MusicRequest.TopP)] = TopP.Name,
                [nameof(MusicRequest.Temperature)] = Temperature.Name,
                [nameof(MusicRequest.Guidance)] = Guidance.Name,
                [nameof(MusicRequest.AudioPrompts)] = Continue.Name,
                [nameof(MusicRequest.Melodies)] = Melody.Name,
                [nameof(MusicRequest.Schedule)] = _scheduleOption,
                [nameof(MusicRequest.Forever)] = Forever.Name,
            };
            throw new InvalidRequestException(e.Render(field => options.GetValueOrDefault(field, field)), e);
        }
    }

    /// <summary>The audio files of an option, each read once; a silent audio prompt is worth a warning (it continues silence).</summary>
    private static AudioClip[] ReadAll(string[] files, string option, bool warnIfSilent, double maxSeconds)
    {
        var clips = files.Select(file =>
        {
            try
            {
                return AudioFile.Read(file, maxSeconds);
            }
            catch (MusicGenException e)
            {
                throw new InputFileException($"{option} {e.Message}", e);
            }
        }).ToArray();
        for (int i = 0; i < clips.Length && warnIfSilent; i++)
            if (clips[i].Channels.All(c => c.All(v => v == 0f))) Console.Error.WriteLine($"warning: the audio prompt {files[i]} is silent");
        return clips;
    }

    /// <summary>Ctrl-C and SIGTERM cancel the generation at its next step instead of killing the process.</summary>
    private static IDisposable CancelOnSignals(CancellationTokenSource cancellation)
    {
        ConsoleCancelEventHandler onCancelKey = (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancelKey;
        var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });
        return new SignalHandlers(onCancelKey, terminate);
    }

    private sealed class SignalHandlers(ConsoleCancelEventHandler onCancelKey, PosixSignalRegistration terminate) : IDisposable
    {
        public void Dispose()
        {
            Console.CancelKeyPress -= onCancelKey;
            terminate.Dispose();
        }
    }

    /// <summary>OUT.wav for one piece; OUT-1.wav, OUT-2.wav, … for several.</summary>
    public static string[] OutputNames(string path, int count)
    {
        if (count == 1) return [path];
        string extension = Path.GetExtension(path), stem = path[..^extension.Length];
        return Enumerable.Range(1, count).Select(i => $"{stem}-{i}{extension}").ToArray();
    }

    /// <summary>Runs a generation with a progress display over all its steps (every window of a long piece) on standard error.</summary>
    private static T RunWithProgress<T>(GenerationPlan plan, Func<IProgress<GenerationProgress>, CancellationToken, T> generate, CancellationToken cancellation) =>
        ProgressDisplay.Run("generating", "steps", plan.Steps, report =>
            generate(new SynchronousProgress(step =>
            {
                report.Report(step.Step, step.Total);
                PausePoint.Reach("generate-step", cancellation);
            }), cancellation));

    /// <summary>Progress reported on the generating thread (Progress&lt;T&gt; would post to a thread-pool thread).</summary>
    private sealed class SynchronousProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
