using System.Net;
using MusicGen.Loaders;
using MusicGen.Loaders.Hub;

namespace MusicGen.Tests.Hardening;

/// <summary>The Hub is only ever reached over http(s): the endpoint and every redirect are checked.</summary>
public sealed class HubAddressTests
{
    [Theory]
    [InlineData("file:///etc")]
    [InlineData("ftp://mirror.example")]
    [InlineData("huggingface.co")]
    [InlineData("://")]
    public void An_endpoint_that_is_not_http_is_refused(string endpoint)
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<MusicGenException>(() => ModelLocator.Resolve("owner/name", new HubOptions(endpoint, temp.Path, null, false)));
        Assert.Contains("is not an http:// or https:// address", error.Message);
    }

    [Fact]
    public void A_redirect_away_from_http_is_refused()
    {
        using var temp = new TempFolder();
        var options = new HubOptions("https://hub.example", temp.Path, null, false, Handler: new RedirectingHandler(new Uri("file:///etc/passwd")));
        var error = Assert.Throws<MusicGenException>(() => ModelLocator.Resolve("owner/name", options));
        Assert.Contains("redirected to file:, which is not http or https", error.Message);
    }

    private sealed class RedirectingHandler(Uri target) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = target } });
    }
}
