using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MusicGen.Engine.Audio;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Tests;

/// <summary>
/// The radio (<c>/v1/streams</c>) on the golden model in windows of 1 s every 0.6 s (50 frames a second, 4
/// codebooks: the first window 50 frames in 53 steps, each later one 30 new frames in 33): listeners, a prompt
/// changed while it plays, how streams share the generator with one-shot requests, the idle stop, refusals.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private static readonly ServerOptions ShortWindow = new() { Window = 1, ExtendStride = 0.6 };

    /// <summary>Bytes of a frame of 16-bit mono audio: 640 samples at 32 kHz.</summary>
    private const int FrameBytes = 2 * 640;

    private static Dictionary<string, object> Greedy(string prompt = "ambient pads") => new() { ["prompt"] = prompt, ["greedy"] = true, ["guidance"] = 1.0 };

    private static async Task<string> StartAsync(TestApp server, object body)
    {
        var response = await server.Client.PostAsJsonAsync("/v1/streams", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        string id = json.RootElement.GetProperty("id").GetString()!;
        Assert.Equal($"/v1/streams/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal($"/v1/streams/{id}/audio", json.RootElement.GetProperty("urls").GetProperty("audio").GetString());
        return id;
    }

    private static async Task<JsonElement> StatusAsync(TestApp server, string id)
    {
        var response = await server.Client.GetAsync($"/v1/streams/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    /// <summary>Polls the stream's status until <paramref name="done"/> holds; fails after a minute.</summary>
    private static async Task<JsonElement> WaitForAsync(TestApp server, string id, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var status = await StatusAsync(server, id);
            if (done(status)) return status;
            Assert.True(DateTime.UtcNow < deadline, $"the stream never got there: {status}");
            await Task.Delay(20);
        }
    }

    /// <summary>A listener: the response, its body, and the audio data after the WAV header (read as far as asked).</summary>
    private sealed class Listener(HttpResponseMessage response, Stream body) : IAsyncDisposable
    {
        public HttpResponseMessage Response { get; } = response;

        public List<byte> Data { get; } = [];

        public static async Task<Listener> JoinAsync(TestApp server, string id)
        {
            var response = await server.Client.GetAsync($"/v1/streams/{id}/audio", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("audio/wav", response.Content.Headers.ContentType!.MediaType);
            Assert.Null(response.Content.Headers.ContentLength); // a stream has no end to announce
            var listener = new Listener(response, await response.Content.ReadAsStreamAsync());
            var header = new byte[44];
            await listener.ReadExactlyAsync(header);
            Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(header, 0, 4));
            Assert.Equal("data", System.Text.Encoding.ASCII.GetString(header, 36, 4));
            Assert.Equal(uint.MaxValue, BitConverter.ToUInt32(header, 40)); // a length not known
            return listener;
        }

        private Task ReadExactlyAsync(byte[] buffer) => body.ReadExactlyAsync(buffer).AsTask().WaitAsync(Patience);

        /// <summary>Reads until <see cref="Data"/> holds <paramref name="frames"/> frames.</summary>
        public async Task ReadFramesAsync(int frames)
        {
            var more = new byte[frames * FrameBytes - Data.Count];
            await ReadExactlyAsync(more);
            Data.AddRange(more);
        }

        /// <summary>Reads the rest, until the stream ends its response.</summary>
        public async Task ReadToEndAsync()
        {
            var rest = new MemoryStream();
            await body.CopyToAsync(rest).WaitAsync(Patience);
            Data.AddRange(rest.ToArray());
        }

        public async ValueTask DisposeAsync()
        {
            await body.DisposeAsync();
            Response.Dispose();
        }
    }

    [Fact]
    public async Task Two_listeners_hear_the_same_audio_each_from_where_it_joined_and_a_delete_ends_both_cleanly()
    {
        var generator = new ControlledGenerator(GoldenGenerator.Instance, holdStarts: true, holdFinishes: false) { HoldAtStep = 60 };
        await using var server = await TestApp.StartAsync(generator, ShortWindow);
        string id = await StartAsync(server, Greedy());
        await using var first = await Listener.JoinAsync(server, id);
        generator.Start.Release();
        await first.ReadFramesAsync(10);
        // Held at step 60, in the second window: the second listener joins at most 60 frames in.
        await generator.Held.WaitAsync(Patience);
        await using var second = await Listener.JoinAsync(server, id);
        Assert.Equal(2, (await StatusAsync(server, id)).GetProperty("listeners").GetInt32());
        generator.Step.Release();
        await second.ReadFramesAsync(50);
        await first.ReadFramesAsync(60 + 50 + 25);

        byte[] all = [.. first.Data], joined = [.. second.Data];
        int at = all.AsSpan().IndexOf(joined);
        Assert.True(at > 0 && at % 2 == 0, $"the second listener's audio is not the first's from a later point ({at})");
        Assert.Contains(joined, b => b != 0);

        var status = await StatusAsync(server, id);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("windows").GetInt32() >= 3, status.ToString());
        Assert.True(status.GetProperty("seconds").GetDouble() >= 2.7, status.ToString());

        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/streams/{id}")).StatusCode);
        // Both responses end normally (no reset), with whole frames.
        await first.ReadToEndAsync();
        await second.ReadToEndAsync();
        Assert.Equal(0, first.Data.Count % 2);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync($"/v1/streams/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_changed_prompt_applies_from_the_next_window_on_and_not_before()
    {
        var generator = new ControlledGenerator(GoldenGenerator.Instance, holdStarts: true, holdFinishes: false) { HoldAtStep = 60 };
        await using var server = await TestApp.StartAsync(generator, ShortWindow);
        async Task<byte[]> PlayAsync(string? change)
        {
            var body = Greedy();
            body["seed"] = 7;
            string id = await StartAsync(server, body);
            await using var listener = await Listener.JoinAsync(server, id);
            generator.Start.Release();
            // Step 60 is in the second window (steps 54…86, its new frames 50…80); the third adds frames 80…110.
            await generator.Held.WaitAsync(Patience);
            if (change is not null)
            {
                var changed = await server.Client.PutAsJsonAsync($"/v1/streams/{id}/prompt", new { text = change });
                Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
                Assert.Equal(change, JsonDocument.Parse(await changed.Content.ReadAsStringAsync()).RootElement.GetProperty("text").GetString());
                Assert.Equal(2, (await StatusAsync(server, id)).GetProperty("windows").GetInt32());
            }
            generator.Step.Release();
            await listener.ReadFramesAsync(110);
            Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/streams/{id}")).StatusCode);
            return [.. listener.Data];
        }
        var same = await PlayAsync(null);
        var changed = await PlayAsync("loud drums and distorted guitar");
        int firstDifference = Enumerable.Range(0, same.Length).FirstOrDefault(i => same[i] != changed[i], -1);
        Assert.True(firstDifference >= 0, "the new text changed nothing");
        // The codes differ from frame 80 on (the third window's new frames), none of the second's; the codec's audio of a frame hears a few frames ahead.
        Assert.InRange(firstDifference / FrameBytes, 70, 79);
    }

    [Fact]
    public async Task A_stream_holds_the_generator_one_shot_requests_queue_behind_it_and_run_when_it_stops()
    {
        await using var server = await TestApp.StartAsync(options: ShortWindow with { QueueLength = 1 });
        string id = await StartAsync(server, Greedy());
        await WaitForAsync(server, id, s => s.GetProperty("status").GetString() == "running");

        var another = await server.Client.PostAsJsonAsync("/v1/streams", Greedy());
        Assert.Equal(HttpStatusCode.TooManyRequests, another.StatusCode);
        Assert.Contains("--max-streams", await another.Content.ReadAsStringAsync());

        string queued = await server.SubmitAsync(TestApp.Greedy());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await server.Client.PostAsJsonAsync("/v1/generations", TestApp.Greedy())).StatusCode);
        await WaitForAsync(server, id, s => s.GetProperty("windows").GetInt32() >= 2);
        Assert.Equal("queued", (await server.StatusAsync(queued)).GetProperty("status").GetString());
        string metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("musicgen_streams 1\n", metrics);

        using (var opus = await server.Client.GetAsync($"/v1/streams/{id}/audio?format=opus", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("audio/ogg", opus.Content.Headers.ContentType!.MediaType);
            var start = new byte[4];
            await (await opus.Content.ReadAsStreamAsync()).ReadExactlyAsync(start).AsTask().WaitAsync(Patience);
            Assert.Equal("OggS", System.Text.Encoding.ASCII.GetString(start));
        }

        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/streams/{id}")).StatusCode);
        await server.WaitForAsync(queued, "done");
        await StartAsync(server, Greedy()); // the stream's place is free again
    }

    [Fact]
    public async Task A_stream_nobody_listens_to_stops_itself_after_the_idle_timeout()
    {
        var clock = new ManualClock();
        await using var server = await TestApp.StartAsync(options: ShortWindow with { StreamIdleTimeout = TimeSpan.FromSeconds(60) }, clock: clock);
        var streams = (RadioStreams)server.App.Services.GetService(typeof(RadioStreams))!;
        string id = await StartAsync(server, Greedy());
        await using (var listener = await Listener.JoinAsync(server, id))
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            streams.StopIdle();
            Assert.Equal("running", (await WaitForAsync(server, id, s => s.GetProperty("status").GetString() != "queued")).GetProperty("status").GetString());
        }
        await WaitForAsync(server, id, s => s.GetProperty("listeners").GetInt32() == 0);
        clock.Advance(TimeSpan.FromSeconds(59));
        streams.StopIdle();
        Assert.Equal("running", (await StatusAsync(server, id)).GetProperty("status").GetString());
        clock.Advance(TimeSpan.FromSeconds(2));
        streams.StopIdle();

        var stopped = await StatusAsync(server, id);
        Assert.Equal("cancelled", stopped.GetProperty("status").GetString());
        Assert.Contains("no listener for 60 s", stopped.GetProperty("error").GetString());
        var late = await server.Client.GetAsync($"/v1/streams/{id}/audio");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Contains("no listener for 60 s", await late.Content.ReadAsStringAsync());
        await StartAsync(server, Greedy()); // a stopped stream no longer counts against the limit
    }

    [Fact]
    public async Task Bad_stream_requests_are_refused_naming_their_field()
    {
        await using var server = await TestApp.StartAsync(options: ShortWindow with { MaxPromptChars = 40 });
        async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode status, string field, string words)
        {
            Assert.Equal(status, response.StatusCode);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (field.Length > 0) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
            Assert.Contains(words, problem.GetProperty("detail").GetString());
        }
        var withDuration = Greedy();
        withDuration["duration"] = 10;
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", withDuration), HttpStatusCode.BadRequest, "duration", "give no duration");
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", new { greedy = true }), HttpStatusCode.BadRequest, "prompt", "is required");
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", new { prompt = " " }), HttpStatusCode.BadRequest, "prompt", "empty");
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", new { prompt = "x", top_k = "many" }), HttpStatusCode.BadRequest, "top_k", "wrong type");
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", new { prompt = "x", temperature = -1 }), HttpStatusCode.BadRequest, "temperature", "temperature");
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", new { prompt = "x", extend_stride = 2 }), HttpStatusCode.BadRequest, "extend_stride", "less than the window");
        await ExpectAsync(await server.Client.PostAsJsonAsync("/v1/streams", new { prompt = "x", schedule = Array.Empty<object>() }), HttpStatusCode.BadRequest, "schedule", "not a field");

        const string unknown = "0123456789abcdef0123456789abcdef";
        foreach (var request in new[]
                 {
                     new HttpRequestMessage(HttpMethod.Get, $"/v1/streams/{unknown}"),
                     new HttpRequestMessage(HttpMethod.Get, $"/v1/streams/{unknown}/audio"),
                     new HttpRequestMessage(HttpMethod.Put, $"/v1/streams/{unknown}/prompt") { Content = JsonContent.Create(new { text = "x" }) },
                     new HttpRequestMessage(HttpMethod.Delete, $"/v1/streams/{unknown}"),
                 })
            await ExpectAsync(await server.Client.SendAsync(request), HttpStatusCode.NotFound, "", unknown);

        string id = await StartAsync(server, Greedy());
        string prompt = $"/v1/streams/{id}/prompt";
        await ExpectAsync(await server.Client.PutAsJsonAsync(prompt, new { }), HttpStatusCode.BadRequest, "text", "is required");
        await ExpectAsync(await server.Client.PutAsJsonAsync(prompt, new { text = new string('x', 41) }), HttpStatusCode.BadRequest, "text", "at most 40");
        await ExpectAsync(await server.Client.PutAsJsonAsync(prompt, new { text = 3 }), HttpStatusCode.BadRequest, "text", "a string");
        await ExpectAsync(await server.Client.PutAsJsonAsync(prompt, new { prompt = "x" }), HttpStatusCode.BadRequest, "prompt", "not a field");
        await ExpectAsync(await server.Client.GetAsync($"/v1/streams/{id}/audio?format=mp3"), HttpStatusCode.BadRequest, "format", "opus");
        Assert.Equal("ambient pads", (await StatusAsync(server, id)).GetProperty("text").GetString()); // nothing refused was taken
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/streams/{id}")).StatusCode);
    }

    [Fact]
    public async Task Streams_need_the_api_key()
    {
        const string key = "radio-key-123";
        await using var server = await TestApp.StartAsync(options: ShortWindow with { ApiKey = key });
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.PostAsJsonAsync("/v1/streams", Greedy())).StatusCode);
        server.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        string id = await StartAsync(server, Greedy());
        server.Client.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync($"/v1/streams/{id}/audio")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.DeleteAsync($"/v1/streams/{id}")).StatusCode);
        // What a browser's audio element fetches carries the key in the query.
        using (var audio = await server.Client.GetAsync($"/v1/streams/{id}/audio?api_key={key}", HttpCompletionOption.ResponseHeadersRead))
            Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/streams/{id}?api_key={key}")).StatusCode);
    }

    [Fact]
    public async Task A_listener_that_falls_behind_is_dropped_without_holding_up_the_others()
    {
        var audio = new LiveAudio(32000, 1, TimeProvider.System, lead: TimeSpan.FromHours(1), bufferChunks: 2);
        using var slow = audio.Join();
        using var keeping = audio.Join();
        var kept = new List<AudioClip>();
        var reader = keeping.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        for (int i = 0; i < 3; i++)
        {
            audio.Append(new AudioClip(32000, [new float[] { i }]), CancellationToken.None);
            Assert.True(await reader.MoveNextAsync());
            kept.Add(reader.Current);
        }
        Assert.Equal(1, audio.Listeners);
        Assert.Equal([0f, 1f, 2f], kept.Select(c => c.Channels[0][0]));
        var heard = new List<AudioClip>();
        var dropped = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var chunk in slow.ReadAllAsync(CancellationToken.None)) heard.Add(chunk);
        });
        Assert.Contains("fell more than 2 chunks behind", dropped.Message);
        Assert.Equal(2, heard.Count);

        audio.End();
        Assert.False(await reader.MoveNextAsync()); // the end is clean for the one that kept up
    }

    [Fact]
    public async Task A_stream_is_generated_at_most_its_lead_ahead_of_real_time()
    {
        var clock = new ManualClock();
        var generator = ControlledGenerator.Golden(holdStarts: true);
        await using var server = await TestApp.StartAsync(generator, ShortWindow with { StreamLead = TimeSpan.FromSeconds(1) }, clock);
        var streams = (RadioStreams)server.App.Services.GetService(typeof(RadioStreams))!;
        string id = await StartAsync(server, Greedy());
        using var paced = new SemaphoreSlim(0);
        streams.Find(id)!.Audio.Paced += () => paced.Release();
        await using var listener = await Listener.JoinAsync(server, id);
        generator.Start.Release(); // once the test hears every wait

        // The clock stands still: the generator waits once the audio is a second ahead, a chunk (0.5 s) past it at most.
        await paced.WaitAsync(Patience);
        double seconds = (await StatusAsync(server, id)).GetProperty("seconds").GetDouble();
        Assert.InRange(seconds, 1, 1.6);
        await listener.ReadFramesAsync((int)(seconds * 50));
        Assert.Equal(seconds, (await StatusAsync(server, id)).GetProperty("seconds").GetDouble());

        clock.Advance(TimeSpan.FromSeconds(3));
        await paced.WaitAsync(Patience);
        Assert.InRange((await StatusAsync(server, id)).GetProperty("seconds").GetDouble(), 4, 4.6);
    }

    /// <summary>A clock that moves only when told: the idle stop is driven by it, not by waiting.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private readonly Lock _lock = new();
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow()
        {
            lock (_lock) return _now;
        }

        public void Advance(TimeSpan by)
        {
            lock (_lock) _now += by;
        }
    }
}
