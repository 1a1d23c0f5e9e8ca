using System.Net;
using System.Text.Json;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Tests;

namespace MusicGen.Server.Tests;

/// <summary>
/// Pieces longer than the server's window, generated window by window: a 1 s window advancing 0.6 s at a time
/// makes a 2.5 s piece of the golden model (50 frames a second, 4 codebooks) in four windows.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class LongformTests
{
    private static readonly ServerOptions ShortWindow = new() { Window = 1, ExtendStride = 0.6 };

    /// <summary>
    /// audiocraft's windows of 2.5 s (125 frames), 50 frames each (the last 35), 30 apart: 50, 30, 30 and 15 new
    /// frames, plus 3 steps of codebook delay in each of the four.
    /// </summary>
    private const int StepsOfTheLongPiece = 125 + 4 * 3;

    [Fact]
    public async Task A_long_piece_streams_and_comes_back_whole_with_progress_over_every_window()
    {
        var generator = new ControlledGenerator(GoldenGenerator.Instance, holdStarts: false, holdFinishes: false) { HoldAtStep = 100 };
        await using var server = await TestApp.StartAsync(generator, ShortWindow);
        var health = JsonDocument.Parse(await server.Client.GetStringAsync("/healthz")).RootElement;
        Assert.Equal(ShortWindow.MaxDuration, health.GetProperty("max_seconds").GetDouble());
        Assert.Equal(1, health.GetProperty("window_seconds").GetDouble());

        string id = await server.SubmitAsync(TestApp.Greedy(duration: 2.5));
        var response = await server.Client.GetAsync($"/v1/generations/{id}/audio", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        long bytes = 44 + 2L * 80000; // 2.5 s of 16-bit mono at 32 kHz
        Assert.Equal(bytes, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync();
        var streamed = new byte[bytes];
        await body.ReadExactlyAsync(streamed.AsMemory(0, 44 + 2 * 640)).AsTask().WaitAsync(TimeSpan.FromMinutes(2));

        // Held at step 100 (the fourth window): the progress covers the whole piece.
        var running = await server.StatusAsync(id);
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.Equal(StepsOfTheLongPiece, running.GetProperty("progress").GetProperty("steps").GetInt32());
        generator.Step.Release();
        await body.ReadExactlyAsync(streamed.AsMemory(44 + 2 * 640)).AsTask().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(0, await body.ReadAsync(new byte[1]));

        var status = await server.WaitForAsync(id, "done");
        var progress = status.GetProperty("progress");
        Assert.Equal(StepsOfTheLongPiece, progress.GetProperty("step").GetInt32());
        Assert.Equal(StepsOfTheLongPiece, progress.GetProperty("steps").GetInt32());
        Assert.Equal(0.6, status.GetProperty("parameters").GetProperty("extend_stride").GetDouble());
        Assert.Equal(streamed, await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio"));
        var clip = WavFile.Read(new MemoryStream(streamed), "audio");
        Assert.Equal(80000, clip.Length);
        Assert.Contains(clip.Channels[0][64000..], v => v != 0f); // the last windows made sound too

        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("codes.safetensors"), await server.Client.GetByteArrayAsync($"/v1/generations/{id}/codes"));
        var codes = CodesFile.Load(folder.File("codes.safetensors"));
        Assert.Equal((1, 4, 125), (codes.Channels, codes.Codebooks, codes.Frames));
    }

    [Fact]
    public async Task A_requests_extend_stride_sets_the_windows()
    {
        await using var server = await TestApp.StartAsync(options: ShortWindow);
        var body = TestApp.Greedy(duration: 2.5);
        body["extend_stride"] = 0.9;
        string id = await server.SubmitAsync(body);
        var status = await server.WaitForAsync(id, "done");
        // Windows 45 frames apart (the last 35 frames long): 50, 45 and 30 new frames, each with 3 steps of delay.
        Assert.Equal(125 + 3 * 3, status.GetProperty("progress").GetProperty("steps").GetInt32());
        Assert.Equal(server.Plan(2.5, 1, 0.9).Steps, status.GetProperty("progress").GetProperty("steps").GetInt32());
        var clip = WavFile.Read(new MemoryStream(await server.Client.GetByteArrayAsync($"/v1/generations/{id}/audio")), "audio");
        Assert.Equal(80000, clip.Length);
    }

    [Fact]
    public async Task A_schedule_changes_the_text_from_its_window_on()
    {
        await using var server = await TestApp.StartAsync(options: ShortWindow);
        async Task<AudioCodes> CodesOf(object[]? schedule)
        {
            var body = TestApp.Greedy("ambient pads", duration: 2.5);
            if (schedule is not null) body["schedule"] = schedule;
            string id = await server.SubmitAsync(body);
            await server.WaitForAsync(id, "done");
            using var folder = new TempFolder();
            File.WriteAllBytes(folder.File("codes.safetensors"), await server.Client.GetByteArrayAsync($"/v1/generations/{id}/codes"));
            return CodesFile.Load(folder.File("codes.safetensors"));
        }
        // Frames [from, from + count) of every codebook of mono codes [1, K, F].
        static int[] Frames(AudioCodes codes, int from, int count) =>
            Enumerable.Range(0, codes.Codebooks).SelectMany(k => codes.Values.Skip(k * codes.Frames + from).Take(count)).ToArray();
        var plain = await CodesOf(null);
        var same = await CodesOf([new { seconds = 1.2, text = "ambient pads" }]);
        var changed = await CodesOf([new { seconds = 1.2, text = "loud drums and distorted guitar" }]);
        Assert.Equal(plain.Values, same.Values);
        // Windows start at 0, 0.6, 1.2 and 1.8 s; the one at 1.2 s adds frames from 1.6 s (80) on.
        Assert.Equal(Frames(plain, 0, 80), Frames(changed, 0, 80));
        Assert.NotEqual(Frames(plain, 80, 45), Frames(changed, 80, 45));
    }
}
