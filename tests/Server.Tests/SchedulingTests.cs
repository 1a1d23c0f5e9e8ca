using System.Net;
using System.Net.Http.Json;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Tests;

/// <summary>The queue: its limit, batching of compatible requests, cancellation, streaming while generating, shutdown.</summary>
[Collection(ServerCollection.Name)]
public sealed class SchedulingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_full_queue_answers_429_with_Retry_After()
    {
        var generator = ControlledGenerator.Golden(holdStarts: true);
        await using var server = await TestApp.StartAsync(generator, new ServerOptions { QueueLength = 1 });
        string running = await server.SubmitAsync(TestApp.Greedy());
        await server.WaitForAsync(running, "running");
        string queued = await server.SubmitAsync(TestApp.Greedy());
        var refused = await server.Client.PostAsJsonAsync("/v1/generations", TestApp.Greedy());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "no Retry-After");
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        var problem = System.Text.Json.JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", problem.GetProperty("type").GetString());
        Assert.Contains("musicgen_generations_rejected_total 1\n", await server.Client.GetStringAsync("/metrics"));
        Assert.Contains("musicgen_queue_length 1\n", await server.Client.GetStringAsync("/metrics"));

        generator.Start.Release(2);
        await server.WaitForAsync(queued, "done");
    }

    [Fact]
    public async Task Compatible_queued_requests_start_together_as_one_batch()
    {
        var generator = ControlledGenerator.Golden(holdStarts: true);
        await using var server = await TestApp.StartAsync(generator);
        string first = await server.SubmitAsync(TestApp.Greedy("first"));
        await server.WaitForAsync(first, "running");
        string a = await server.SubmitAsync(TestApp.Greedy("second"));
        string other = await server.SubmitAsync(TestApp.Greedy("other length", duration: 0.4));
        string b = await server.SubmitAsync(TestApp.Greedy("third"));
        var seeded = TestApp.Greedy("sampled with a seed");
        seeded["greedy"] = false;
        seeded["seed"] = 3;
        string alone = await server.SubmitAsync(seeded);

        generator.Start.Release(5);
        foreach (string id in new[] { first, a, other, b, alone }) await server.WaitForAsync(id, "done");
        var prompts = generator.Batches.Select(batch => string.Join(",", batch.Prompts)).ToArray();
        Assert.Equal(["first", "second,third", "other length", "sampled with a seed"], prompts);
        Assert.Equal(2, (await server.StatusAsync(a)).GetProperty("batch_size").GetInt32());
        Assert.Equal(2, (await server.StatusAsync(b)).GetProperty("batch_size").GetInt32());
        Assert.Equal(3ul, (await server.StatusAsync(alone)).GetProperty("parameters").GetProperty("seed").GetUInt64());

        // Batched pieces are the same audio as the same request alone (greedy).
        string single = await server.SubmitAsync(TestApp.Greedy("third"));
        await server.WaitForAsync(single, "done");
        Assert.Equal(await server.Client.GetByteArrayAsync($"/v1/generations/{single}/audio"), await server.Client.GetByteArrayAsync($"/v1/generations/{b}/audio"));
    }

    [Fact]
    public async Task Delete_cancels_queued_and_running_generations_and_stops_the_work()
    {
        var generator = ControlledGenerator.Golden(holdStarts: true);
        await using var server = await TestApp.StartAsync(generator);
        string running = await server.SubmitAsync(TestApp.Greedy());
        await server.WaitForAsync(running, "running");
        string queued = await server.SubmitAsync(TestApp.Greedy(duration: 0.4));

        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/generations/{queued}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/generations/{running}")).StatusCode);
        Assert.Equal("cancelled", (await server.WaitForAsync(queued, "cancelled")).GetProperty("status").GetString());
        Assert.Equal("cancelled", (await server.WaitForAsync(running, "cancelled")).GetProperty("status").GetString());
        Assert.Equal(1, Volatile.Read(ref generator.Cancelled));
        Assert.Single(generator.Batches);
        Assert.Equal(HttpStatusCode.Conflict, (await server.Client.GetAsync($"/v1/generations/{running}/audio")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await server.Client.GetAsync($"/v1/generations/{running}/codes")).StatusCode);
        Assert.Contains("musicgen_generations_total{status=\"cancelled\"} 2\n", await server.Client.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task The_audio_streams_before_the_generation_ends()
    {
        var generator = ControlledGenerator.Golden(holdFinishes: true);
        await using var server = await TestApp.StartAsync(generator);
        string id = await server.SubmitAsync(TestApp.Greedy(duration: 0.5));
        var response = await server.Client.GetAsync($"/v1/generations/{id}/audio", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        long expected = 44 + 2L * server.Plan(0.5).SamplesOf(0);
        Assert.Equal(expected, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync();
        var bytes = new byte[expected];
        await body.ReadExactlyAsync(bytes).AsTask().WaitAsync(Patience);

        // Every byte arrived while the generator still holds the batch open.
        Assert.Equal("running", (await server.StatusAsync(id)).GetProperty("status").GetString());
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        generator.Finish.Release();
        await server.WaitForAsync(id, "done");
        Assert.Equal(bytes, await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio"));
    }

    [Fact]
    public async Task Samples_stream_while_the_decoder_is_still_generating()
    {
        // 2 s of audio is 103 steps; the pipeline decodes a chunk about every half second of frames.
        var generator = new ControlledGenerator(GoldenGenerator.Instance, holdStarts: false, holdFinishes: false) { HoldAtStep = 80 };
        await using var server = await TestApp.StartAsync(generator);
        string id = await server.SubmitAsync(TestApp.Greedy(duration: 2));
        var response = await server.Client.GetAsync($"/v1/generations/{id}/audio", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var start = new byte[44 + 2 * 640]; // the header and the samples of the first frame
        await body.ReadExactlyAsync(start).AsTask().WaitAsync(Patience);

        // The generator cannot pass step 80 of 103 until released: these bytes came while it was decoding.
        var status = await server.StatusAsync(id);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.InRange(status.GetProperty("progress").GetProperty("step").GetInt32(), 1, 80);
        Assert.Equal(103, status.GetProperty("progress").GetProperty("steps").GetInt32());
        generator.Step.Release();
        await server.WaitForAsync(id, "done");
        var whole = await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio");
        Assert.Equal(whole.AsSpan(0, start.Length).ToArray(), start);
    }

    [Fact]
    public async Task A_client_waiting_for_the_audio_itself_cancels_by_going_away()
    {
        var generator = ControlledGenerator.Golden(holdStarts: true);
        await using var server = await TestApp.StartAsync(generator);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = JsonContent.Create(TestApp.Greedy()) };
        request.Headers.Accept.ParseAdd("audio/wav");
        using var leave = new CancellationTokenSource();
        var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType!.MediaType);
        string location = (await server.Client.GetStringAsync("/metrics")).Contains("musicgen_generations{status=\"running\"} 1") ? "running" : "queued";
        Assert.Equal("running", location);
        leave.Cancel();
        response.Dispose();
        var deadline = DateTime.UtcNow + Patience;
        while (!(await server.Client.GetStringAsync("/metrics")).Contains("musicgen_generations_total{status=\"cancelled\"} 1\n"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the abandoned generation was not cancelled");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_one_shot_request_whose_wav_was_delivered_is_done_though_the_client_left_before_the_job_ended()
    {
        // The generator hands over the last audio before it returns the codes: held between the two, the client has
        // the whole WAV and hangs up while the job is still running. Counted cancelled, one request in seven was.
        var generator = ControlledGenerator.Golden(holdFinishes: true);
        await using var server = await TestApp.StartAsync(generator);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = JsonContent.Create(TestApp.Greedy()) };
        request.Headers.Accept.ParseAdd("audio/wav");
        using (var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            var wav = await response.Content.ReadAsByteArrayAsync().WaitAsync(Patience);
            Assert.Equal(response.Content.Headers.ContentLength, wav.Length);
        }
        await generator.AudioOut.WaitAsync(Patience);

        generator.Finish.Release();
        var deadline = DateTime.UtcNow + Patience;
        string metrics;
        while (!(metrics = await server.Client.GetStringAsync("/metrics")).Contains("musicgen_generations_total{status=\"done\"} 1\n"))
        {
            Assert.True(DateTime.UtcNow < deadline, metrics);
            await Task.Delay(20);
        }
        Assert.Contains("musicgen_generations_total{status=\"cancelled\"} 0\n", metrics);
        Assert.Equal(0, Volatile.Read(ref generator.Cancelled));
    }

    [Fact]
    public async Task Stopping_refuses_new_work_cancels_the_queue_and_finishes_the_running_batch()
    {
        var generator = ControlledGenerator.Golden(holdFinishes: true);
        var server = await TestApp.StartAsync(generator);
        string running = await server.SubmitAsync(TestApp.Greedy());
        await generator.AudioOut.WaitAsync(Patience);
        string queued = await server.SubmitAsync(TestApp.Greedy(duration: 0.4));
        var scheduler = (GenerationScheduler)server.App.Services.GetService(typeof(GenerationScheduler))!;

        var stopping = server.App.StopAsync();
        while (!scheduler.IsStopping) await Task.Delay(10);
        var refused = await server.Client.PostAsJsonAsync("/v1/generations", TestApp.Greedy());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("cancelled", (await server.StatusAsync(queued)).GetProperty("status").GetString());
        Assert.False(stopping.IsCompleted);

        generator.Finish.Release();
        await stopping.WaitAsync(Patience);
        Assert.Equal("done", (await server.StatusAsync(running)).GetProperty("status").GetString());
        await server.DisposeAsync();
    }
}
