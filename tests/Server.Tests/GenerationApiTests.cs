using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Tests;

namespace MusicGen.Server.Tests;

/// <summary>Every endpoint against the golden checkpoint: submit, status, events, audio, codes, delete, health, metrics, OpenAPI, page.</summary>
[Collection(ServerCollection.Name)]
public sealed class GenerationApiTests
{
    [Fact]
    public async Task A_generation_runs_to_done_and_serves_its_audio_and_codes()
    {
        await using var server = await TestApp.StartAsync();
        var body = TestApp.Greedy(duration: 0.3);
        body["seed"] = 7;
        var response = await server.Client.PostAsJsonAsync("/v1/generations", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        string id = accepted.GetProperty("id").GetString()!;
        Assert.Equal($"/v1/generations/{id}", response.Headers.Location!.ToString());
        Assert.Equal($"/v1/generations/{id}/audio", accepted.GetProperty("urls").GetProperty("audio").GetString());

        var status = await server.WaitForAsync(id, "done");
        var parameters = status.GetProperty("parameters");
        Assert.Equal(7ul, parameters.GetProperty("seed").GetUInt64());
        Assert.True(parameters.GetProperty("greedy").GetBoolean());
        Assert.Equal(0.3, parameters.GetProperty("duration").GetDouble());
        var progress = status.GetProperty("progress");
        Assert.Equal(progress.GetProperty("steps").GetInt32(), progress.GetProperty("step").GetInt32());
        Assert.Equal(server.Plan(0.3).Steps, progress.GetProperty("steps").GetInt32());

        var wav = await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio");
        var clip = WavFile.Read(new MemoryStream(wav), "audio");
        Assert.Equal(server.Plan(0.3).SamplesOf(0), clip.Length);
        Assert.Equal(32000, clip.SampleRate);
        var exact = WavFile.Read(new MemoryStream(await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio?format=float32")), "audio");
        Assert.Equal(clip.Length, exact.Length);
        Assert.Contains(exact.Channels[0], v => v != 0f);

        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("codes.safetensors"), await server.Client.GetByteArrayAsync($"/v1/generations/{id}/codes"));
        var codes = CodesFile.Load(folder.File("codes.safetensors"));
        Assert.Equal((1, 4, 15), (codes.Channels, codes.Codebooks, codes.Frames));
        var jsonRequest = new HttpRequestMessage(HttpMethod.Get, $"/v1/generations/{id}/codes");
        jsonRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var jsonCodes = await server.Client.SendAsync(jsonRequest);
        Assert.Equal("application/json", jsonCodes.Content.Headers.ContentType!.MediaType);
        File.WriteAllBytes(folder.File("codes.json"), await jsonCodes.Content.ReadAsByteArrayAsync());
        Assert.Equal(codes.Values, CodesFile.Load(folder.File("codes.json")).Values);
    }

    [Fact]
    public async Task Server_sent_events_report_progress_and_end_with_the_final_status()
    {
        await using var server = await TestApp.StartAsync();
        string id = await server.SubmitAsync(TestApp.Greedy(duration: 0.5));
        using var stream = await server.Client.GetStreamAsync($"/v1/generations/{id}/events");
        using var reader = new StreamReader(stream);
        var events = new List<string>();
        JsonElement last = default;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) events.Add(line["event: ".Length..]);
            if (line.StartsWith("data: ", StringComparison.Ordinal)) last = JsonDocument.Parse(line["data: ".Length..]).RootElement;
        }
        Assert.Equal("done", events[^1]);
        Assert.All(events.SkipLast(1), e => Assert.Equal("status", e));
        Assert.Equal("done", last.GetProperty("status").GetString());
        Assert.True(last.GetProperty("progress").GetProperty("steps_per_second").GetDouble() > 0);
    }

    [Fact]
    public async Task Several_prompts_make_several_pieces()
    {
        await using var server = await TestApp.StartAsync();
        var body = TestApp.Greedy();
        body.Remove("prompt");
        body["prompts"] = new[] { "rock", "jazz" };
        string id = await server.SubmitAsync(body);
        var status = await server.WaitForAsync(id, "done");
        Assert.Equal(2, status.GetProperty("pieces").GetInt32());
        foreach (int piece in new[] { 1, 2 })
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/generations/{id}/audio?piece={piece}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.GetAsync($"/v1/generations/{id}/audio?piece=3")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.GetAsync($"/v1/generations/{id}/audio?format=m4a")).StatusCode);
    }

    [Fact]
    public async Task A_multipart_form_uploads_audio_to_continue()
    {
        await using var server = await TestApp.StartAsync();
        var wav = new MemoryStream();
        var tone = Enumerable.Range(0, 8000).Select(i => 0.3f * MathF.Sin(i * 0.05f)).ToArray();
        WavFile.Write(wav, new AudioClip(16000, [tone]), SampleFormat.Pcm16); // 0.5 s at another rate
        using var form = new MultipartFormDataContent
        {
            { new StringContent("jazz"), "prompt" },
            { new StringContent("0.8"), "duration" },
            { new StringContent("true"), "greedy" },
            { new StringContent(""), "seed" },
        };
        var file = new ByteArrayContent(wav.ToArray());
        file.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(file, "continue", "../../etc/passwd.wav");
        var response = await server.Client.PostAsync("/v1/generations", form);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        string id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var status = await server.WaitForAsync(id, "done");
        Assert.True(status.GetProperty("parameters").GetProperty("continue").GetBoolean());
        var clip = WavFile.Read(new MemoryStream(await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio")), "audio");
        Assert.Equal(server.Plan(0.8).SamplesOf(0), clip.Length);
    }

    [Fact]
    public async Task Uploads_are_told_by_their_content_whatever_type_the_part_declares()
    {
        await using var server = await TestApp.StartAsync();
        var tone = Enumerable.Range(0, 8000).Select(i => 0.3f * MathF.Sin(i * 0.05f)).ToArray();
        var flac = new MemoryStream();
        AudioFormat.Flac.Write(flac, new AudioClip(16000, [tone]));
        var wav = new MemoryStream();
        WavFile.Write(wav, new AudioClip(16000, [tone]), SampleFormat.Pcm16);
        // No ffmpeg on the PATH: what is read here is told by its content alone, and the rest is refused as not audio.
        using var folder = new TempFolder();
        string? path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", folder.Path);
        try
        {
            // curl -F continue=@intro.flac declares application/octet-stream; a part may also declare nothing.
            foreach (var (bytes, type) in new[] { (flac.ToArray(), "application/octet-stream"), (wav.ToArray(), null) })
            {
                var file = new ByteArrayContent(bytes);
                if (type is not null) file.Headers.ContentType = new MediaTypeHeaderValue(type);
                using var form = new MultipartFormDataContent { { new StringContent("jazz"), "prompt" }, { new StringContent("0.8"), "duration" }, { file, "continue", "intro" } };
                var response = await server.Client.PostAsync("/v1/generations", form);
                Assert.True(HttpStatusCode.Accepted == response.StatusCode, await response.Content.ReadAsStringAsync());
                string id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
                Assert.True((await server.WaitForAsync(id, "done")).GetProperty("parameters").GetProperty("continue").GetBoolean());
            }

            var unknown = new ByteArrayContent(new byte[1000]);
            unknown.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var unknownForm = new MultipartFormDataContent { { new StringContent("jazz"), "prompt" }, { unknown, "continue", "intro" } };
            var refused = await server.Client.PostAsync("/v1/generations", unknownForm);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
            Assert.Contains("recognises", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").GetProperty("continue")[0].GetString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }

    [Fact]
    public async Task Delete_forgets_a_finished_generation_and_unknown_ids_are_404()
    {
        await using var server = await TestApp.StartAsync();
        string id = await server.SubmitAsync(TestApp.Greedy());
        await server.WaitForAsync(id, "done");
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/generations/{id}")).StatusCode);
        foreach (string path in new[] { "", "/audio", "/codes", "/events" })
        {
            var response = await server.Client.GetAsync($"/v1/generations/{id}{path}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.DeleteAsync($"/v1/generations/{id}")).StatusCode);
    }

    [Fact]
    public async Task Finished_generations_beyond_the_limit_are_forgotten_oldest_first()
    {
        await using var server = await TestApp.StartAsync(options: new ServerOptions { KeepFinished = 2 });
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add(await server.SubmitAsync(TestApp.Greedy()));
            await server.WaitForAsync(ids[^1], "done");
        }
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync($"/v1/generations/{ids[0]}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/generations/{ids[1]}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/generations/{ids[2]}")).StatusCode);
    }

    [Fact]
    public async Task Health_metrics_OpenAPI_and_the_page_answer()
    {
        await using var server = await TestApp.StartAsync();
        var health = JsonDocument.Parse(await server.Client.GetStringAsync("/healthz")).RootElement;
        Assert.Equal("ready", health.GetProperty("status").GetString());
        Assert.Equal(32000, health.GetProperty("sample_rate").GetInt32());

        string id = await server.SubmitAsync(TestApp.Greedy());
        await server.WaitForAsync(id, "done");
        string metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("musicgen_queue_length 0\n", metrics);
        Assert.Contains("musicgen_running_batch_size 0\n", metrics);
        Assert.Contains("musicgen_generations_total{status=\"done\"} 1\n", metrics);
        Assert.Matches(@"musicgen_steps_per_second [0-9.]+\n", metrics);

        var openApi = JsonDocument.Parse(await server.Client.GetStringAsync(MusicGenServer.OpenApiUrl)).RootElement;
        var paths = openApi.GetProperty("paths");
        foreach (string path in new[] { "/v1/generations", "/v1/generations/{id}", "/v1/generations/{id}/audio", "/v1/generations/{id}/codes", "/v1/generations/{id}/events", "/healthz", "/metrics" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the OpenAPI document");
        Assert.True(paths.GetProperty("/v1/generations").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        var fields = openApi.GetProperty("components").GetProperty("schemas").GetProperty("GenerationRequestBody").GetProperty("properties");
        foreach (string field in new[] { "prompt", "prompts", "duration", "seed", "top_k", "top_p", "temperature", "guidance", "greedy", "extend_stride" })
            Assert.True(fields.TryGetProperty(field, out _), $"{field} is not documented");

        string page = await server.Client.GetStringAsync("/");
        Assert.Contains("<label for=\"prompt\"", page);
        Assert.Contains("EventSource", await server.Client.GetStringAsync("/app.js"));
        Assert.Equal("text/css", (await server.Client.GetAsync("/app.css")).Content.Headers.ContentType!.MediaType);
    }
}
