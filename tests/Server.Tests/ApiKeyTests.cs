using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using MusicGen.Loaders;

namespace MusicGen.Server.Tests;

/// <summary>The API key guards /v1 (and only /v1); binding beyond loopback needs a key or an explicit --no-auth.</summary>
[Collection(ServerCollection.Name)]
public sealed class ApiKeyTests
{
    private const string Key = "s3cret-key-for-tests";

    [Fact]
    public async Task V1_needs_the_key_in_a_header_or_the_query()
    {
        await using var server = await TestApp.StartAsync(options: new ServerOptions { ApiKey = Key });
        var missing = await server.Client.PostAsJsonAsync("/v1/generations", TestApp.Greedy());
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/generations/x");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-key-12345");
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.SendAsync(wrong)).StatusCode);

        server.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        string id = await server.SubmitAsync(TestApp.Greedy());
        server.Client.DefaultRequestHeaders.Authorization = null;
        using var header = new HttpRequestMessage(HttpMethod.Get, $"/v1/generations/{id}");
        header.Headers.Add("X-Api-Key", Key);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(header)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/generations/{id}?api_key={Key}")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/")).StatusCode);
    }

    [Theory]
    [InlineData("0.0.0.0", null, false, true)]
    [InlineData("192.168.1.5", null, false, true)]
    [InlineData("0.0.0.0", Key, false, false)]
    [InlineData("0.0.0.0", null, true, false)]
    [InlineData("127.0.0.1", null, false, false)]
    [InlineData("::1", null, false, false)]
    [InlineData("localhost", null, false, false)]
    [InlineData("127.0.0.1", Key, true, true)]
    [InlineData("127.0.0.1", "short", false, true)]
    public void Binding_beyond_loopback_needs_a_key_or_no_auth(string host, string? key, bool noAuth, bool refused)
    {
        var options = new ServerOptions { Host = host, ApiKey = key, NoAuth = noAuth };
        if (refused) Assert.Throws<MusicGenException>(options.Validate);
        else options.Validate();
    }
}
