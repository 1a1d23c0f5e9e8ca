using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using MusicGen.Engine.Audio;
using MusicGen.Tests;
using OpenAI;
using OpenAI.Audio;

namespace MusicGen.Server.Tests;

/// <summary>
/// <c>POST /v1/audio/speech</c> driven by the official OpenAI .NET client (a client no one here wrote), on the test
/// server through a custom transport: every response format, and OpenAI-shaped errors that the client surfaces.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SpeechApiTests
{
    private const string Key = "s3cret-key-for-tests";

    /// <summary>The server's default length is its limit here: OpenAI's request has no duration.</summary>
    private const double Seconds = 0.3;

    [Fact]
    public async Task The_OpenAI_client_gets_the_music_in_every_response_format()
    {
        await using var server = await StartAsync();
        var client = Client(server, Key);
        int frames = server.Plan(Seconds).SamplesOf(0);
        bool ffmpeg = FfmpegDecoder.FromEnvironment().Executable is not null;
        foreach (var (format, extension) in new[]
        {
            (GeneratedSpeechFormat.Wav, ".wav"), (GeneratedSpeechFormat.Flac, ".flac"), (GeneratedSpeechFormat.Opus, ".opus"),
            (GeneratedSpeechFormat.Mp3, ".mp3"), (GeneratedSpeechFormat.Aac, ".aac"), (GeneratedSpeechFormat.Pcm, ".pcm"),
        })
        {
            if (!ffmpeg && extension is ".mp3" or ".aac") continue;
            // A voice this server has never heard of is ignored, as every voice is.
            var options = new SpeechGenerationOptions { ResponseFormat = format, SpeedRatio = 1.5f };
            BinaryData audio = (await client.GenerateSpeechAsync("80s pop with synth", new GeneratedSpeechVoice("no-such-voice"), options)).Value;
            if (extension == ".pcm")
            {
                // Raw 16-bit mono at OpenAI's 24 kHz: the 32 kHz piece resampled by 3/4.
                Assert.Equal(2 * ((frames * 3 + 3) / 4), audio.ToArray().Length);
                continue;
            }
            using var folder = new TempFolder();
            string path = folder.File("speech" + extension);
            File.WriteAllBytes(path, audio.ToArray());
            var clip = AudioFile.Read(path);
            if (extension is ".wav" or ".flac") Assert.Equal(frames, clip.Length);
            else Assert.Equal(Seconds, clip.Seconds, 0.06);
        }
    }

    [Fact]
    public async Task Refusals_come_in_OpenAI_error_shape_and_the_client_surfaces_them()
    {
        await using var server = await StartAsync();
        var client = Client(server, Key);

        var tooShort = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateSpeechAsync(Json(new { model = "tts-1", input = "jazz", voice = "alloy", duration = 0 }), null));
        AssertError(tooShort, 400, "duration", "invalid_value");

        var fast = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateSpeechAsync("jazz", GeneratedSpeechVoice.Alloy, new SpeechGenerationOptions { SpeedRatio = 10 }));
        AssertError(fast, 400, "speed", "invalid_value");

        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateSpeechAsync(Json(new { model = "tts-1", input = "jazz", colour = "blue" }), null)),
            400, "colour", "unknown_parameter");
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateSpeechAsync(Json(new { model = "tts-1", input = "jazz", stream_format = "sse" }), null)),
            400, "stream_format", "invalid_value");
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateSpeechAsync(Json(new { model = "tts-1", input = "jazz", response_format = "ogg" }), null)),
            400, "response_format", "invalid_value");
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateSpeechAsync(Json(new { model = "tts-1" }), null)),
            400, "input", "invalid_value");

        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() => Client(server, "wrong-key-12345").GenerateSpeechAsync("jazz", GeneratedSpeechVoice.Alloy));
        AssertError(unauthorized, 401, null, "invalid_api_key");
    }

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(options: new ServerOptions { ApiKey = Key, MaxDuration = Seconds });

    /// <summary>The official client, its requests sent to the in-process server.</summary>
    private static AudioClient Client(TestApp server, string key) => new("musicgen", new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(server.Client.BaseAddress!, "/v1"),
        Transport = new HttpClientPipelineTransport(server.Client),
    });

    private static BinaryContent Json(object body) => BinaryContent.Create(BinaryData.FromObjectAsJson(body));

    private static void AssertError(ClientResultException exception, int status, string? param, string code)
    {
        Assert.Equal(status, exception.Status);
        var response = exception.GetRawResponse()!;
        var error = JsonDocument.Parse(response.Content.ToString()).RootElement.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }
}
