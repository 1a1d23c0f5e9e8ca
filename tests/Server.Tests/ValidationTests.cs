using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MusicGen.Server.Tests;

/// <summary>Every refused request is an RFC 7807 answer naming the field, before any work starts.</summary>
[Collection(ServerCollection.Name)]
public sealed class ValidationTests
{
    [Theory]
    [InlineData("""{"duration": 1}""", "prompt")]
    [InlineData("""{"prompt": "  "}""", "prompt")]
    [InlineData("""{"prompt": "a", "prompts": ["b"]}""", "prompts")]
    [InlineData("""{"prompts": ["a", "b", "c", "d", "e"]}""", "prompts")]
    [InlineData("""{"prompts": []}""", "prompts")]
    [InlineData("""{"prompt": 5}""", "prompt")]
    [InlineData("""{"prompt": "a", "duration": 0}""", "duration")]
    [InlineData("""{"prompt": "a", "duration": -2}""", "duration")]
    [InlineData("""{"prompt": "a", "duration": 301}""", "duration")]
    [InlineData("""{"prompt": "a", "duration": 0.001}""", "duration")]
    [InlineData("""{"prompt": "a", "duration": "long"}""", "duration")]
    [InlineData("""{"prompt": "a", "seed": -1}""", "seed")]
    [InlineData("""{"prompt": "a", "top_k": -1}""", "top_k")]
    [InlineData("""{"prompt": "a", "top_k": 2.5}""", "top_k")]
    [InlineData("""{"prompt": "a", "top_p": 0}""", "top_p")]
    [InlineData("""{"prompt": "a", "top_p": 1.5}""", "top_p")]
    [InlineData("""{"prompt": "a", "temperature": 0}""", "temperature")]
    [InlineData("""{"prompt": "a", "guidance": -1}""", "guidance")]
    [InlineData("""{"prompt": "a", "greedy": "yes"}""", "greedy")]
    [InlineData("""{"prompt": "a", "extend_stride": 0}""", "extend_stride")]
    [InlineData("""{"prompt": "a", "extend_stride": 30}""", "extend_stride")]
    [InlineData("""{"prompt": "a", "extend_stride": "short"}""", "extend_stride")]
    [InlineData("""{"prompt": "a", "output": "/etc/passwd"}""", "output")]
    [InlineData("""{"prompt": "a", "duration": 20, "schedule": [{"seconds": 15, "text": "b"}, {"seconds": 10, "text": "c"}]}""", "schedule")]
    [InlineData("""{"prompt": "a", "duration": 20, "schedule": [{"seconds": 15}]}""", "schedule")]
    [InlineData("""{"prompt": "a", "duration": 20, "schedule": "b"}""", "schedule")]
    [InlineData("""[1, 2]""", "body")]
    [InlineData("""{"prompt": "a" """, "body")]
    public async Task A_bad_field_is_a_400_problem_naming_it(string json, string field)
    {
        await using var server = await TestApp.StartAsync();
        var response = await server.Client.PostAsync("/v1/generations", new StringContent(json, Encoding.UTF8, "application/json"));
        await AssertProblem(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Prompts_longer_than_the_limits_are_refused()
    {
        await using var server = await TestApp.StartAsync(options: new ServerOptions { MaxPromptChars = 100 });
        var chars = await server.Client.PostAsync("/v1/generations", Json(new { prompt = new string('a', 101) }));
        await AssertProblem(chars, HttpStatusCode.BadRequest, "prompt", "101 characters");

        await using var wide = await TestApp.StartAsync(options: new ServerOptions { MaxPromptChars = 5000 });
        var tokens = await wide.Client.PostAsync("/v1/generations", Json(new { prompt = string.Join(' ', Enumerable.Repeat("music", 600)) }));
        await AssertProblem(tokens, HttpStatusCode.BadRequest, "prompt", "tokens");
    }

    [Fact]
    public async Task Long_pieces_are_held_to_the_servers_limit_and_window()
    {
        await using var server = await TestApp.StartAsync(options: new ServerOptions { MaxDuration = 10, Window = 1, ExtendStride = 0.6 });
        var health = JsonDocument.Parse(await server.Client.GetStringAsync("/healthz")).RootElement;
        Assert.Equal(10, health.GetProperty("default_seconds").GetDouble()); // the checkpoint's 30 s, held to the limit
        await AssertProblem(await server.Client.PostAsync("/v1/generations", Json(new { prompt = "a", duration = 10.5 })),
            HttpStatusCode.BadRequest, "duration", "at most 10 s");
        await AssertProblem(await server.Client.PostAsync("/v1/generations", Json(new { prompt = "a", duration = 5, extend_stride = 1 })),
            HttpStatusCode.BadRequest, "extend_stride", "less than the window (1 s)");
        await AssertProblem(await server.Client.PostAsync("/v1/generations", Json(new { prompt = "a", duration = 5, extend_stride = -0.5 })),
            HttpStatusCode.BadRequest, "extend_stride");
        using var form = new MultipartFormDataContent { { new StringContent("a"), "prompt" }, { new StringContent("2"), "duration" }, { new StringContent("1.5"), "extend_stride" } };
        await AssertProblem(await server.Client.PostAsync("/v1/generations", form), HttpStatusCode.BadRequest, "extend_stride", "less than the window");
    }

    [Fact]
    public async Task Sizes_and_formats_are_checked_from_the_headers_first()
    {
        await using var server = await TestApp.StartAsync(options: new ServerOptions { MaxUploadBytes = 4096 });
        var form = Form(new ByteArrayContent(new byte[8192]), "continue", "audio/wav");
        await AssertProblem(await server.Client.PostAsync("/v1/generations", form), HttpStatusCode.RequestEntityTooLarge, "body");

        await AssertProblem(await server.Client.PostAsync("/v1/generations", Form(new ByteArrayContent(new byte[100]), "continue", "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "continue");
        await AssertProblem(await server.Client.PostAsync("/v1/generations", Form(new ByteArrayContent(new byte[100]), "script", "audio/wav")),
            HttpStatusCode.BadRequest, "script");
        await AssertProblem(await server.Client.PostAsync("/v1/generations", new StringContent("prompt=a", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "Content-Type");
    }

    [Fact]
    public async Task Uploads_that_are_not_audio_or_do_not_fit_the_model_are_refused_without_naming_server_files()
    {
        await using var server = await TestApp.StartAsync();
        var garbage = await server.Client.PostAsync("/v1/generations", Form(new ByteArrayContent(Encoding.ASCII.GetBytes("not a wav file at all")), "continue", "audio/wav"));
        string text = await AssertProblem(garbage, HttpStatusCode.BadRequest, "continue");
        Assert.DoesNotContain(Path.GetTempPath(), text);

        var melody = await server.Client.PostAsync("/v1/generations", Form(new ByteArrayContent(new byte[100]), "melody", "audio/wav"));
        await AssertProblem(melody, HttpStatusCode.BadRequest, "melody", "does not follow melodies");
    }

    private static MultipartFormDataContent Form(HttpContent file, string name, string type)
    {
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        return new MultipartFormDataContent { { new StringContent("a tune"), "prompt" }, { file, name, "upload" } };
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>Asserts an RFC 7807 answer with the status whose errors name the field; returns its text.</summary>
    private static async Task<string> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string field, string? mentions = null)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.StatusCode} instead of {status}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("https://tools.ietf.org/html/rfc", problem.GetProperty("type").GetString());
        Assert.True(problem.TryGetProperty("errors", out var errors), $"no errors: {text}");
        Assert.True(errors.TryGetProperty(field, out var messages), $"errors do not name {field}: {text}");
        Assert.StartsWith($"{field}: ", problem.GetProperty("detail").GetString());
        if (mentions is not null) Assert.Contains(mentions, messages[0].GetString());
        return text;
    }
}
