using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Server.Generation;
using MusicGen.Tests;

namespace MusicGen.Server.Tests;

/// <summary>The other kinds of checkpoint through the API: a stereo model's two channels, a melody model's upload.</summary>
[Collection(ServerCollection.Name)]
public sealed class CheckpointKindTests
{
    [Fact]
    public async Task A_stereo_model_streams_and_serves_two_channels()
    {
        using var backend = new CpuBackend();
        using var pipeline = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"), backend);
        await using var server = await TestApp.StartAsync(new EngineMusicGenerator(pipeline, "golden/musicgen-stereo"));
        string id = await server.SubmitAsync(TestApp.Greedy(duration: 0.3));
        var streamed = await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio");
        await server.WaitForAsync(id, "done");
        var clip = WavFile.Read(new MemoryStream(streamed), "audio");
        Assert.Equal(2, clip.ChannelCount);
        Assert.Equal(server.Plan(0.3).SamplesOf(0), clip.Length);
        Assert.Equal(streamed, await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio"));
    }

    [Fact]
    public async Task A_melody_model_follows_an_uploaded_tune_and_refuses_audio_to_continue()
    {
        using var backend = new CpuBackend();
        using var pipeline = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-melody"), "model"), backend);
        await using var server = await TestApp.StartAsync(new EngineMusicGenerator(pipeline, "golden/musicgen-melody"));
        Assert.True(JsonDocument.Parse(await server.Client.GetStringAsync("/healthz")).RootElement.GetProperty("melody").GetBoolean());

        var response = await server.Client.PostAsync("/v1/generations", Form("melody"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        string id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var status = await server.WaitForAsync(id, "done", "failed");
        Assert.Equal("done", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("parameters").GetProperty("melody").GetBoolean());

        var refused = await server.Client.PostAsync("/v1/generations", Form("continue"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True(JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty("continue", out _));
    }

    /// <summary>A greedy request with a one-second tune (A4 then C5) as the named file.</summary>
    private static MultipartFormDataContent Form(string fileField)
    {
        var tune = Enumerable.Range(0, 32000).Select(i => 0.5f * MathF.Sin(2 * MathF.PI * (i < 16000 ? 440 : 523.25f) * i / 32000)).ToArray();
        var wav = new MemoryStream();
        WavFile.Write(wav, new AudioClip(32000, [tune]), SampleFormat.Float32);
        var file = new ByteArrayContent(wav.ToArray());
        file.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        return new MultipartFormDataContent
        {
            { new StringContent("a tune"), "prompt" },
            { new StringContent("0.3"), "duration" },
            { new StringContent("true"), "greedy" },
            { file, fileField, "tune.wav" },
        };
    }
}
