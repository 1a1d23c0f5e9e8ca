using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MusicGen.Engine;
using MusicGen.Server.Generation;

namespace MusicGen.Server.Tests;

/// <summary>The server on ASP.NET Core's in-process test host, with a client and the helpers the tests share.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, IMusicGenerator generator)
    {
        App = app;
        Generator = generator;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }
    public IMusicGenerator Generator { get; }
    public HttpClient Client { get; }

    /// <summary>Starts the server; <paramref name="clock"/> replaces the system's (a test's own clock, moved by hand).</summary>
    public static async Task<TestApp> StartAsync(IMusicGenerator? generator = null, ServerOptions? options = null, TimeProvider? clock = null)
    {
        generator ??= GoldenGenerator.Instance;
        var app = MusicGenServer.Build(options ?? new ServerOptions(), generator, builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (clock is not null) builder.Services.AddSingleton(clock);
        });
        await app.StartAsync();
        return new TestApp(app, generator);
    }

    /// <summary>The engine's plan of a request of one prompt of this length in the server's windows: the steps and samples the server announces.</summary>
    public GenerationPlan Plan(double seconds, double window = MusicRequest.MaxWindow, double extendStride = MusicRequest.DefaultExtendStride) =>
        Generator.Prepare(MusicRequest.FromText("x") with { Duration = seconds, Window = window, ExtendStride = extendStride }, RequestLimits.Engine);

    /// <summary>A short greedy request (fast with the golden model); more fields may be added.</summary>
    public static Dictionary<string, object> Greedy(string prompt = "80s pop with synth", double duration = 0.2) =>
        new() { ["prompt"] = prompt, ["duration"] = duration, ["greedy"] = true, ["guidance"] = 1.0 };

    public async Task<string> SubmitAsync(object body)
    {
        var response = await Client.PostAsJsonAsync("/v1/generations", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> StatusAsync(string id)
    {
        var response = await Client.GetAsync($"/v1/generations/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    /// <summary>Waits until the generation reaches a status (or one of several), polling; fails after a minute.</summary>
    public async Task<JsonElement> WaitForAsync(string id, params string[] statuses)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var status = await StatusAsync(id);
            if (statuses.Contains(status.GetProperty("status").GetString())) return status;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{id} is still {status.GetProperty("status")}, waiting for {string.Join(" or ", statuses)}: {status}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
