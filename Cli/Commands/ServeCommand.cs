using System.CommandLine;
using System.Diagnostics;
using MusicGen.Engine;
using MusicGen.Kernels;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Server;
using MusicGen.Server.Generation;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen serve --model MODEL</c>: the HTTP API and the web page, over one loaded model.</summary>
public sealed class ServeCommand
{
    private static readonly ServerOptions Defaults = new();

    private readonly Option<string> Host = new("--host") { Description = "Address to listen on; other than loopback it needs --api-key or --no-auth", DefaultValueFactory = _ => Defaults.Host };
    private readonly Option<int> Port = new("--port") { Description = "TCP port", DefaultValueFactory = _ => Defaults.Port };
    private readonly Option<string?> ApiKey = new("--api-key") { Description = "Key every /v1 request must carry (Authorization: Bearer KEY); at least 8 characters" };
    private readonly Option<bool> NoAuth = new("--no-auth") { Description = "Serve a non-loopback address without a key, on purpose" };
    private readonly Option<int> Queue = new("--queue") { Description = "Requests that may wait for the generator; more are refused with 429", DefaultValueFactory = _ => Defaults.QueueLength };
    private readonly Option<int> MaxBatch = new("--max-batch") { Description = "Most pieces generated together (queued requests with the same settings share a batch)", DefaultValueFactory = _ => Defaults.MaxBatch };
    private readonly Option<int> Keep = new("--keep") { Description = "Finished generations kept for download (oldest forgotten first)", DefaultValueFactory = _ => Defaults.KeepFinished };
    private readonly Option<int> MaxUpload = new("--max-upload-mb") { Description = "Largest request (uploaded audio included), in MiB", DefaultValueFactory = _ => (int)(Defaults.MaxUploadBytes >> 20) };
    private readonly Option<double> MaxDuration = new("--max-duration")
    {
        Description = $"Longest piece a request may ask, in seconds (at most {MusicRequest.MaxDuration:0}); beyond --window it is generated window by window",
        DefaultValueFactory = _ => Defaults.MaxDuration,
    };
    private readonly Option<double> Window = new("--window") { Description = "Seconds of each window of a long piece (default: the model's 30)", DefaultValueFactory = _ => Defaults.Window };
    private readonly Option<double> ExtendStride = new("--extend-stride")
    {
        Description = $"Seconds between the starts of the windows of a long piece when a request gives no extend_stride (default {MusicRequest.DefaultExtendStride})",
        DefaultValueFactory = _ => Defaults.ExtendStride,
    };
    private readonly Option<int> MaxStreams = new("--max-streams")
    {
        Description = "Streams (/v1/streams) playing or waiting at once; each holds the generator while it plays, one-shot requests queue behind it (0: no streams)",
        DefaultValueFactory = _ => Defaults.MaxStreams,
    };
    private readonly Option<double> StreamIdleTimeout = new("--stream-idle-timeout")
    {
        Description = "Seconds a stream may have no listener before it stops itself",
        DefaultValueFactory = _ => Defaults.StreamIdleTimeout.TotalSeconds,
    };

    private readonly Option<double> ShutdownTimeout = new("--shutdown-timeout")
    {
        Description = "Seconds a stopping server (SIGTERM, Ctrl-C) lets the running batch finish before cancelling it; /healthz answers 503 meanwhile",
        DefaultValueFactory = _ => Defaults.ShutdownTimeout.TotalSeconds,
    };

    private ServeCommand() { }

    public static Command Create() => new ServeCommand().Build();

    private Command Build()
    {
        var model = CommonOptions.Model();
        var device = CommonOptions.Device();
        var weights = CommonOptions.Weights(GenerateCommand.DefaultWeights.Name());
        var adapters = CommonOptions.Adapters();
        var cache = CommonOptions.Cache();
        Port.Accepts("a port number from 0 to 65535", port => port is >= 0 and <= 65535);
        ApiKey.Accepts("a key of at least 8 characters", key => key is { Length: >= 8 });
        Queue.Accepts("a whole number from 1 to 10000", n => n is >= 1 and <= 10_000);
        MaxBatch.Accepts("a whole number from 1 to 64", n => n is >= 1 and <= 64);
        Keep.Accepts("a whole number from 1 to 100000", n => n is >= 1 and <= 100_000);
        MaxUpload.Accepts("a whole number of MiB from 1 to 2047", n => n is >= 1 and <= 2047);
        MaxDuration.Accepts($"a number of seconds above 0 and at most {MusicRequest.MaxDuration:0}", seconds => seconds is > 0 and <= MusicRequest.MaxDuration);
        Window.Accepts($"a number of seconds above 0 and at most {MusicRequest.MaxWindow}", seconds => seconds is > 0 and <= MusicRequest.MaxWindow);
        ExtendStride.Accepts("a number of seconds above 0 and below the window", seconds => seconds is > 0 and < MusicRequest.MaxWindow);
        MaxStreams.Accepts("a whole number from 0 to 64", n => n is >= 0 and <= 64);
        StreamIdleTimeout.Accepts("a number of seconds above 0 and at most 86400", seconds => seconds is > 0 and <= 86_400);
        ShutdownTimeout.Accepts("a number of seconds from 0 to 3600", seconds => seconds is >= 0 and <= 3600);
        var command = new Command("serve", "Serve an HTTP API and a web page that generate music with one model (loaded once)")
        {
            model, device, weights, cache, adapters, Host, Port, ApiKey, NoAuth, Queue, MaxBatch, Keep, MaxUpload, MaxDuration, Window, ExtendStride, MaxStreams, StreamIdleTimeout,
            ShutdownTimeout,
        };
        command.SetAction(parse => CommandRunner.Run(() => Run(parse, parse.GetValue(model)!, parse.GetValue(device)!, CommonOptions.GivenWeights(parse, weights),
            CommonOptions.CacheType(parse.GetValue(cache)), CommonOptions.AdapterList(parse.GetValue(adapters)))));
        return command;
    }

    private int Run(ParseResult parse, string modelName, string device, WeightType? givenWeights, WeightType? cacheType, IReadOnlyList<AdapterReference> adapters)
    {
        var options = new ServerOptions
        {
            Host = parse.GetValue(Host)!,
            Port = parse.GetValue(Port),
            ApiKey = parse.GetValue(ApiKey),
            NoAuth = parse.GetValue(NoAuth),
            QueueLength = parse.GetValue(Queue),
            MaxBatch = parse.GetValue(MaxBatch),
            KeepFinished = parse.GetValue(Keep),
            MaxUploadBytes = (long)parse.GetValue(MaxUpload) << 20,
            MaxDuration = parse.GetValue(MaxDuration),
            Window = parse.GetValue(Window),
            ExtendStride = parse.GetValue(ExtendStride),
            MaxStreams = parse.GetValue(MaxStreams),
            StreamIdleTimeout = TimeSpan.FromSeconds(parse.GetValue(StreamIdleTimeout)),
            ShutdownTimeout = TimeSpan.FromSeconds(parse.GetValue(ShutdownTimeout)),
        };
        options.Validate(); // before the model is loaded: a refused setting costs nothing

        var stopwatch = Stopwatch.StartNew();
        using var backend = BackendSelector.Open(device);
        string folder = ModelArgument.Resolve(modelName);
        var weightType = ModelArgument.WeightsFor(folder, givenWeights, GenerateCommand.DefaultWeights);
        using var pipeline = MusicgenPipeline.Open(folder, backend, adapters, line => Console.Error.WriteLine(line), weightType, cacheType);
        var generator = new EngineMusicGenerator(pipeline, modelName);
        Console.Error.WriteLine($"loaded {pipeline.Folder} on {backend.Name} in {stopwatch.Elapsed.TotalSeconds:0.0} s");

        using var app = MusicGenServer.Build(options, generator);
        app.Lifetime.ApplicationStarted.Register(() =>
            Console.Error.WriteLine($"serving on {string.Join(", ", app.Urls)} (web page at /, API at /v1, OpenAPI at {MusicGenServer.OpenApiUrl}); Ctrl-C or SIGTERM stops"));
        app.Run();
        return 0;
    }
}
