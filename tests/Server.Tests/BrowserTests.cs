using System.IO.Compression;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using MusicGen.Tests;

namespace MusicGen.Server.Tests;

/// <summary>
/// The web page in a real headless Chromium (Debian's chromium package, driven by Playwright; never a downloaded
/// browser): type a prompt, generate with the golden model, wait for a playable audio source of the right length,
/// and save a screenshot that must not be blank; start the radio, hear it play, change its description, stop it. Skips without chromium, fails instead when
/// MUSICGEN_REQUIRE_BROWSER=1 (set by .ci/run, which installs it).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class BrowserTests
{
    public const string RequireVariable = "MUSICGEN_REQUIRE_BROWSER";
    private const string Chromium = "/usr/bin/chromium";

    [SkippableFact]
    public Task The_page_generates_plays_and_lists_a_piece() => InBrowserAsync(new ServerOptions { Port = 0 }, async (page, url, consoleErrors) =>
    {
        await page.GotoAsync(url);
        await Assertions.Expect(page.Locator("#model")).ToContainTextAsync("golden/musicgen-mono");

        // By label and by keyboard, as a user without a mouse would.
        await page.GetByLabel("Describe the music").FillAsync("calm piano over soft rain");
        await page.GetByLabel("Duration (seconds)").FillAsync("1");
        await page.Locator("summary").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.GetByLabel("Greedy (no sampling)").CheckAsync();
        await page.GetByLabel("Guidance").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");

        await page.WaitForFunctionAsync("""
            () => {
              const player = document.getElementById('player');
              return document.getElementById('progress-text').textContent.startsWith('Done')
                && player.readyState >= 1 && player.error === null && Math.abs(player.duration - 1) < 0.03;
            }
            """, null, new PageWaitForFunctionOptions { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("#history a")).ToHaveCountAsync(2);
        Assert.Contains("/audio", await page.Locator("#history a").First.GetAttributeAsync("href"));
        // The waveform was drawn: the canvas holds more than its background.
        Assert.True(await page.EvaluateAsync<bool>("""
            () => {
              const c = document.getElementById('waveform');
              const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              for (let i = 0; i < data.length; i += 4) if (data[i + 2] === 255) return true;
              return false;
            }
            """), "the waveform is empty");

        // A refusal is shown in plain words, in an alert the screen reader announces.
        await page.GetByLabel("Duration (seconds)").FillAsync("400");
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("duration 400 s must be more than 0 and at most 300 s");
        await page.GetByLabel("Duration (seconds)").FillAsync("1");

        string folder = Directory.CreateDirectory(Path.Combine(TestPaths.RepoRoot, "tests", "Server.Tests", "bin", "screenshots")).FullName;
        string screenshot = Path.Combine(folder, "serve-page.png");
        byte[] png = await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(DistinctPixelBytes(png) >= 32, $"the screenshot {screenshot} is blank");
        Assert.True(consoleErrors.Count == 0, string.Join("\n", consoleErrors));
    });

    [SkippableFact]
    public Task The_page_plays_a_radio_stream_changes_its_prompt_and_stops_it() =>
        InBrowserAsync(new ServerOptions { Port = 0, Window = 1, ExtendStride = 0.6 }, async (page, url, consoleErrors) =>
        {
            using var client = new HttpClient { BaseAddress = new Uri(url) };
            await page.GotoAsync(url);
            await page.GetByLabel("Describe the music").FillAsync("calm piano over soft rain");
            await page.Locator("summary").ClickAsync();
            await page.GetByLabel("Greedy (no sampling)").CheckAsync();
            await page.GetByLabel("Guidance").FillAsync("1");
            await page.GetByRole(AriaRole.Button, new() { Name = "Start radio" }).ClickAsync();

            // It plays: the audio element has data and its clock moves.
            await page.WaitForFunctionAsync("""
                () => {
                  const player = document.getElementById('radio-player');
                  return player.readyState >= 2 && player.error === null && player.currentTime > 0;
                }
                """, null, new PageWaitForFunctionOptions { Timeout = 120_000 });
            string id = (await page.Locator("#radio").GetAttributeAsync("data-stream"))!;
            await Assertions.Expect(page.Locator("#radio-status")).ToContainTextAsync("Playing “calm piano over soft rain”");
            async Task<JsonElement> StatusAsync() => JsonDocument.Parse(await client.GetStringAsync($"/v1/streams/{id}")).RootElement;
            Assert.Equal(1, (await StatusAsync()).GetProperty("listeners").GetInt32());

            await page.GetByLabel("New description").FillAsync("fast techno with heavy bass");
            await page.GetByRole(AriaRole.Button, new() { Name = "Change the music" }).ClickAsync();
            await Assertions.Expect(page.Locator("#radio-status")).ToContainTextAsync("Playing “fast techno with heavy bass”");
            int windows = (await StatusAsync()).GetProperty("windows").GetInt32();
            var deadline = DateTime.UtcNow.AddMinutes(1);
            JsonElement status;
            while ((status = await StatusAsync()).GetProperty("windows").GetInt32() <= windows)
            {
                Assert.True(DateTime.UtcNow < deadline, $"no window began after the change: {status}");
                await Task.Delay(50);
            }
            Assert.Equal("fast techno with heavy bass", status.GetProperty("text").GetString());

            await page.GetByRole(AriaRole.Button, new() { Name = "Stop radio" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Start radio" })).ToBeVisibleAsync();
            deadline = DateTime.UtcNow.AddMinutes(1);
            while ((await client.GetAsync($"/v1/streams/{id}")).StatusCode != System.Net.HttpStatusCode.NotFound)
            {
                Assert.True(DateTime.UtcNow < deadline, "the stream is still there after Stop");
                await Task.Delay(50);
            }
            Assert.True(await page.EvaluateAsync<bool>("() => !document.getElementById('radio-player').hasAttribute('src')"), "the player still plays the stream");
            Assert.True(consoleErrors.Count == 0, string.Join("\n", consoleErrors));
        });

    /// <summary>
    /// Runs <paramref name="test"/> on a page of a server of <paramref name="options"/> (the golden model) in headless
    /// Chromium, with the console's errors (a refused request's 400 aside) collected.
    /// </summary>
    private static async Task InBrowserAsync(ServerOptions options, Func<IPage, string, List<string>, Task> test)
    {
        if (!File.Exists(Chromium))
        {
            if (Environment.GetEnvironmentVariable(RequireVariable) == "1") Assert.Fail($"{RequireVariable}=1 but {Chromium} is missing (apt-get install chromium)");
            Skip.If(true, $"{Chromium} is missing; install Debian's chromium package to run the browser test");
        }
        var app = MusicGenServer.Build(options, GoldenGenerator.Instance, builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        try
        {
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 900 } });
            // CI runs the other test assemblies beside this one on 2 cores: Playwright's 5 s defaults are too short there.
            page.SetDefaultTimeout(60_000);
            Assertions.SetDefaultExpectTimeout(60_000);
            var consoleErrors = new List<string>();
            // The refused request below is expected; any other failed load or script error is a defect.
            page.Console += (_, message) => { if (message.Type == "error" && !message.Text.Contains("400")) consoleErrors.Add(message.Text); };
            await test(page, url, consoleErrors);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>How many different byte values the image data holds: a blank page has a handful, a drawn one many.</summary>
    private static int DistinctPixelBytes(byte[] png)
    {
        var compressed = new MemoryStream();
        for (int offset = 8; offset + 8 <= png.Length;)
        {
            int length = (png[offset] << 24) | (png[offset + 1] << 16) | (png[offset + 2] << 8) | png[offset + 3];
            if (System.Text.Encoding.ASCII.GetString(png, offset + 4, 4) == "IDAT") compressed.Write(png, offset + 8, length);
            offset += 12 + length;
        }
        compressed.Position = 0;
        using var pixels = new ZLibStream(compressed, CompressionMode.Decompress);
        var seen = new bool[256];
        var buffer = new byte[1 << 16];
        for (int read; (read = pixels.Read(buffer)) > 0;)
            for (int i = 0; i < read; i++) seen[buffer[i]] = true;
        return seen.Count(s => s);
    }
}
