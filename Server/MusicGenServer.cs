using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MusicGen.Server.Api;
using MusicGen.Server.Generation;
using MusicGen.Server.Jobs;

namespace MusicGen.Server;

/// <summary>
/// The <c>musicgen serve</c> web application: the <c>/v1</c> API, <c>/healthz</c>, <c>/metrics</c>, the OpenAPI
/// document at <c>/openapi/v1.json</c> and the web page at <c>/</c>, over one generator.
/// </summary>
public static class MusicGenServer
{
    /// <summary>The stable URL of the OpenAPI document.</summary>
    public const string OpenApiUrl = "/openapi/v1.json";

    /// <summary>
    /// Builds the application (not started). <paramref name="configure"/> may change the host before it is built,
    /// e.g. to run it on an in-process test server.
    /// </summary>
    public static WebApplication Build(ServerOptions options, IMusicGenerator generator, Action<WebApplicationBuilder>? configure = null)
    {
        options.Validate();
        // A server killed outright left its uploads behind; the next one to start removes them.
        ServerTempFolder.RemoveStale();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = typeof(MusicGenServer).Assembly.GetName().Name });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxUploadBytes;
        });
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        // One line per request would drown what matters (start, stop, failures) in a busy server's log.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // SIGTERM lets the running batch finish for this long, then cancels it.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(generator);
        builder.Services.AddSingleton(new JobStore(options.KeepFinished));
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton<RequestReader>();
        builder.Services.AddSingleton<GenerationScheduler>();
        builder.Services.AddHostedService(services => services.GetRequiredService<GenerationScheduler>());
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RadioStreams>();
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // ASP.NET Core types the statuses it knows; the two it does not (413, 429) are typed here, so every problem has one.
            context.ProblemDetails.Type ??= context.ProblemDetails.Status switch
            {
                StatusCodes.Status413PayloadTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
                StatusCodes.Status429TooManyRequests => "https://tools.ietf.org/html/rfc6585#section-4",
                _ => null,
            };
            // Routing refuses a body that is neither JSON nor a form before the endpoint runs; name the header, as every refusal names its field.
            if (context.ProblemDetails is { Status: StatusCodes.Status415UnsupportedMediaType } and not HttpValidationProblemDetails)
            {
                string message = $"send application/json or multipart/form-data, not {context.HttpContext.Request.ContentType ?? "nothing"}";
                context.ProblemDetails.Detail = $"Content-Type: {message}";
                context.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]> { ["Content-Type"] = [message] };
            }
        });
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            // Numbers are numbers (the web defaults also read them from strings), as the request reader takes them.
            json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "musicgen serve";
            document.Info.Description = "Text to music with MusicGen. /v1 needs the server's API key when it was started with --api-key.";
            return Task.CompletedTask;
        }));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseStatusCodePages();
        app.MapOpenApi(OpenApiUrl);
        var v1 = app.MapGroup("/v1");
        var generations = v1.MapGroup("");
        var speech = v1.MapGroup("");
        if (options.ApiKey is { } key)
        {
            generations.AddEndpointFilter(new ApiKeyFilter(key));
            speech.AddEndpointFilter(new ApiKeyFilter(key, message => SpeechEndpoints.Error(StatusCodes.Status401Unauthorized, message, null, "invalid_api_key")));
        }
        GenerationEndpoints.Map(generations);
        StreamEndpoints.Map(generations);
        SpeechEndpoints.Map(speech);
        app.MapGet("/healthz", (GenerationScheduler scheduler) =>
        {
            var model = generator.Model;
            var health = new HealthView(scheduler.IsStopping ? "stopping" : "ready", model.Name, model.Device, model.SampleRate, model.Channels,
                options.MaxDuration, options.Window, Math.Round(options.DefaultDuration(model), 2), model.FollowsMelody, options.MaxBatch, options.ApiKey is not null);
            return scheduler.IsStopping ? Results.Json(health, statusCode: StatusCodes.Status503ServiceUnavailable) : Results.Ok(health);
        }).WithName("Health").WithSummary("Whether the model is loaded and the server takes work").Produces<HealthView>();
        app.MapGet("/metrics", (ServerMetrics metrics, GenerationScheduler scheduler, JobStore store, RadioStreams streams) =>
            Results.Text(metrics.Render(scheduler.QueueLength, store.CountByStatus(), streams.Active, streams.Listeners), "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("Metrics").WithSummary("Prometheus metrics: queue length, running batch size, steps per second, generations by status");
        WebPage.Map(app);
        return app;
    }
}
