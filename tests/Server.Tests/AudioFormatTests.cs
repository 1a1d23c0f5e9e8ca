using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MusicGen.Engine.Audio;
using MusicGen.Tests;

namespace MusicGen.Server.Tests;

/// <summary>The audio answered in the format asked for (<c>?format=</c> or an <c>Accept</c> audio type), read back with the engine's decoders.</summary>
[Collection(ServerCollection.Name)]
public sealed class AudioFormatTests
{
    private const double Seconds = 0.3;

    [Fact]
    public async Task The_one_shot_answer_streams_FLAC_or_Opus_as_asked()
    {
        await using var server = await TestApp.StartAsync();
        var flac = await server.Client.PostAsJsonAsync("/v1/generations?format=flac", TestApp.Greedy(duration: Seconds));
        Assert.Equal(HttpStatusCode.OK, flac.StatusCode);
        Assert.Equal("audio/flac", flac.Content.Headers.ContentType!.MediaType);
        var clip = await DecodeAsync(flac, ".flac");
        Assert.Equal((32000, server.Plan(Seconds).SamplesOf(0)), (clip.SampleRate, clip.Length));

        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = JsonContent.Create(TestApp.Greedy(duration: Seconds)) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("audio/ogg"));
        var opus = await server.Client.SendAsync(request);
        Assert.Equal("audio/ogg", opus.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Seconds, (await DecodeAsync(opus, ".opus")).Seconds, 0.02);
    }

    [Fact]
    public async Task A_finished_piece_in_FLAC_holds_the_samples_of_its_float_WAV()
    {
        await using var server = await TestApp.StartAsync();
        string id = await server.SubmitAsync(TestApp.Greedy(duration: Seconds));
        await server.WaitForAsync(id, "done");
        var exact = WavFile.Read(new MemoryStream(await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio?format=float32")), "audio");
        var response = await server.Client.GetAsync($"/v1/generations/{id}/audio?format=flac");
        Assert.Equal("audio/flac", response.Content.Headers.ContentType!.MediaType);
        Assert.EndsWith(".flac", response.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
        var flac = await DecodeAsync(response, ".flac");
        Assert.Equal(exact.Length, flac.Length);
        // 24-bit samples: within half a step of the floats (clipped to full scale).
        for (int i = 0; i < exact.Length; i++) Assert.Equal(Math.Clamp(exact.Channels[0][i], -1f, 1f), flac.Channels[0][i], 1e-6f);
    }

    [SkippableFact]
    public async Task MP3_and_AAC_come_from_ffmpeg_when_the_server_has_it()
    {
        Skip.If(FfmpegDecoder.FromEnvironment().Executable is null, "ffmpeg is not installed");
        await using var server = await TestApp.StartAsync();
        var mp3 = await server.Client.PostAsJsonAsync("/v1/generations?format=mp3", TestApp.Greedy(duration: Seconds));
        Assert.Equal("audio/mpeg", mp3.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Seconds, (await DecodeAsync(mp3, ".mp3")).Seconds, 0.06);
        var aac = await server.Client.PostAsJsonAsync("/v1/generations?format=aac", TestApp.Greedy(duration: Seconds));
        Assert.Equal("audio/aac", aac.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Seconds, (await DecodeAsync(aac, ".aac")).Seconds, 0.06);
    }

    [Fact]
    public async Task A_format_needing_ffmpeg_is_refused_before_any_work_when_the_server_has_none()
    {
        await using var server = await TestApp.StartAsync();
        string id = await server.SubmitAsync(TestApp.Greedy());
        await server.WaitForAsync(id, "done");
        using var folder = new TempFolder();
        string? path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", folder.Path); // a PATH without ffmpeg
        try
        {
            var audio = await server.Client.GetAsync($"/v1/generations/{id}/audio?format=mp3");
            Assert.Equal(HttpStatusCode.BadRequest, audio.StatusCode);
            Assert.Contains("ffmpeg", Error(await audio.Content.ReadAsStringAsync(), "format"));

            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = JsonContent.Create(TestApp.Greedy()) };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("audio/aac"));
            var oneShot = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, oneShot.StatusCode);
            Assert.Contains("ffmpeg", Error(await oneShot.Content.ReadAsStringAsync(), "Accept"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
        Assert.Contains("musicgen_generations_total{status=\"done\"} 1\n", await server.Client.GetStringAsync("/metrics"));
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.PostAsJsonAsync("/v1/generations?format=vorbis", TestApp.Greedy())).StatusCode);
    }

    private static string Error(string problem, string field) =>
        JsonDocument.Parse(problem).RootElement.GetProperty("errors").GetProperty(field)[0].GetString()!;

    /// <summary>The answer's audio, decoded from a file of that extension by the engine's readers.</summary>
    private static async Task<AudioClip> DecodeAsync(HttpResponseMessage response, string extension)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var folder = new TempFolder();
        string path = folder.File("answer" + extension);
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return AudioFile.Read(path);
    }
}
