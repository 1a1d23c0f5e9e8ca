using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MusicGen.Tests.Support;

namespace MusicGen.Server.Tests;

/// <summary>How <c>musicgen serve</c> stops on SIGTERM, seen from outside the process.</summary>
[Collection(ServerCollection.Name)]
public sealed class ShutdownTests
{
    [SkippableFact]
    public async Task Sigterm_answers_503_while_the_running_batch_drains_then_exits_with_0()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals");
        using var server = ServeProcess.Start(new Dictionary<string, string>(), "--shutdown-timeout", "3");
        // Five minutes of audio: thousands of decoding steps, far more than the drain takes to observe.
        var submitted = await server.Client.PostAsJsonAsync("/v1/generations", new { prompt = "drone", duration = 300, greedy = true, guidance = 1.0 });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        string id = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        JsonElement status;
        while ((status = await Status(server, id)).GetProperty("progress").GetProperty("step").GetInt32() == 0) await Task.Delay(20);
        Assert.Equal("running", status.GetProperty("status").GetString());

        CliProcess.Signal(server.Process, 15);

        // Until the signal is handled the server is ready; from then on it answers 503, never refuses the connection.
        HttpResponseMessage health;
        while ((health = await server.Client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK) { }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("stopping", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.PostAsJsonAsync("/v1/generations", new { prompt = "late" })).StatusCode);
        Assert.Equal("running", (await Status(server, id)).GetProperty("status").GetString());

        Assert.True(server.WaitForExit(TimeSpan.FromMinutes(1)), "the server did not stop");
        Assert.True(server.Process.ExitCode == 0, server.Log);
        Assert.Contains("shutdown timeout: cancelling the running batch", server.Log);
    }

    private static async Task<JsonElement> Status(ServeProcess server, string id) =>
        JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/generations/{id}")).RootElement;
}
