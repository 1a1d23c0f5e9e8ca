using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MusicGen.Tests;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Server.Tests;

/// <summary>
/// <c>musicgen serve</c> as a process under concurrent clients of every kind: valid short generations (batched,
/// seeded, with an upload), invalid bodies, oversized uploads, cancels, one-shot WAV clients that read it all or hang
/// up mid-stream, slow readers, SSE listeners and bursts that overflow the queue. Only correctness is asserted; the
/// resident memory after the warm-up and the latency of status requests while generating are printed. CI runs a
/// short form (a fixed number of clients); MUSICGEN_SOAK_SECONDS=S runs clients for S seconds.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed partial class SoakTests(ITestOutputHelper log)
{
    private const int Workers = 8;
    private const int Queue = 6;
    private const int Keep = 64;

    private enum Client { Valid, Seeded, Upload, Invalid, Oversized, Cancel, OneShot, HangUp, SlowReader, Events, Burst }

    /// <summary>What the clients saw, to compare with each other and with /metrics.</summary>
    private sealed class Observed
    {
        public readonly ConcurrentBag<int> Statuses = [];
        public readonly ConcurrentBag<double> RunningStatusMilliseconds = [];
        public readonly ConcurrentDictionary<Client, int> Clients = new();
        public readonly ConcurrentDictionary<string, byte> Deleted = new();
        public int Accepted, OneShots, HangUps, Rejected, Done, Cancelled, Evicted;
    }

    [SkippableFact]
    public async Task Concurrent_clients_of_every_kind_get_correct_answers_and_the_metrics_agree_with_them()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "resident memory is read from /proc");
        double? soakSeconds = double.TryParse(Environment.GetEnvironmentVariable("MUSICGEN_SOAK_SECONDS"), CultureInfo.InvariantCulture, out double asked) ? asked : null;
        int clients = soakSeconds is null ? 96 : int.MaxValue;
        using var temp = new TempFolder();
        using var server = ServeProcess.Start(new Dictionary<string, string> { ["TMPDIR"] = temp.Path },
            "--queue", Queue.ToString(CultureInfo.InvariantCulture), "--max-batch", "4", "--max-upload-mb", "1", "--keep", Keep.ToString(CultureInfo.InvariantCulture));
        var seen = new Observed();

        // Warm-up: one of each kind, so that what is measured after it is the steady state, not first use.
        foreach (var kind in Enum.GetValues<Client>()) await RunClient(server, seen, kind, new Random((int)kind));
        long rssAfterWarmUp = ResidentBytes(server.Process);
        var clock = Stopwatch.StartNew();
        int next = 0;
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) <= clients && (soakSeconds is null || clock.Elapsed.TotalSeconds < soakSeconds))
            {
                var random = new Random(index);
                await RunClient(server, seen, Enum.GetValues<Client>()[random.Next(Enum.GetValues<Client>().Length)], random);
            }
        })).ToArray();
        var all = Task.WhenAll(workers);
        var residentSeries = new List<string>();
        var sampler = Task.Run(async () =>
        {
            // Resident memory over the run, to tell growth that levels off from a leak.
            var interval = TimeSpan.FromSeconds(Math.Max(1, (soakSeconds ?? 0) / 8));
            while (await Task.WhenAny(all, Task.Delay(interval)) != all)
                residentSeries.Add($"{clock.Elapsed.TotalSeconds:0} s {ResidentBytes(server.Process) / 1048576.0:0}");
        });
        var limit = TimeSpan.FromSeconds((soakSeconds ?? 0) + 300);
        Assert.True(await Task.WhenAny(all, Task.Delay(limit)) == all, $"the clients still ran after {limit}:\n{server.Log}");
        await all;
        await sampler;
        long rssAtEnd = ResidentBytes(server.Process);

        Assert.DoesNotContain(seen.Statuses, status => status >= 500);
        // A one-shot job ends just after its last samples went out, one hung up on when the server notices: wait for them.
        var metrics = Metrics(await server.Client.GetStringAsync("/metrics"));
        for (var settling = Stopwatch.StartNew(); Unfinished(metrics) > 0 && settling.Elapsed < TimeSpan.FromMinutes(1); await Task.Delay(20))
            metrics = Metrics(await server.Client.GetStringAsync("/metrics"));
        Assert.Equal(0, Unfinished(metrics));
        Assert.Equal(seen.Accepted + seen.OneShots + seen.HangUps, metrics["musicgen_generations_submitted_total"]);
        Assert.Equal(seen.Rejected, metrics["musicgen_generations_rejected_total"]);
        Assert.Equal(0, metrics["musicgen_generations_total{status=\"failed\"}"]);
        Assert.Equal(0, metrics["musicgen_queue_length"]);
        // Every accepted generation ended: those the clients followed as they saw them; a one-shot read to the end is
        // done; one hung up mid-stream is cancelled, or done when its last samples had already gone out.
        double done = metrics["musicgen_generations_total{status=\"done\"}"], cancelled = metrics["musicgen_generations_total{status=\"cancelled\"}"];
        Assert.Equal(metrics["musicgen_generations_submitted_total"], done + cancelled);
        Assert.InRange(done - seen.Done - seen.OneShots, 0, seen.HangUps);
        Assert.Equal(seen.HangUps, done - seen.Done - seen.OneShots + cancelled - seen.Cancelled);
        string serverFiles = Path.Combine(temp.Path, "musicgen-serve");
        Assert.True(Directory.Exists(serverFiles)); // uploads were saved there
        Assert.Empty(Directory.EnumerateFiles(serverFiles, "*", SearchOption.AllDirectories)); // and none is left, nor any codes file

        var latencies = seen.RunningStatusMilliseconds.Order().ToArray();
        log.WriteLine($"{seen.Statuses.Count} requests in {clock.Elapsed.TotalSeconds:0} s from {seen.Clients.Values.Sum()} clients ({string.Join(", ", seen.Clients.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"))})");
        log.WriteLine($"answers: {string.Join(", ", seen.Statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key} ×{g.Count()}"))}");
        log.WriteLine($"generations: {metrics["musicgen_generations_submitted_total"]} accepted ({seen.OneShots} one-shot read whole, {seen.HangUps} hung up), {seen.Rejected} refused with 429, {done} done, {cancelled} cancelled, {seen.Evicted} evicted before their download");
        log.WriteLine($"resident memory: {rssAfterWarmUp / 1048576.0:0.0} MiB after the warm-up, {rssAtEnd / 1048576.0:0.0} MiB at the end ({100.0 * (rssAtEnd - rssAfterWarmUp) / rssAfterWarmUp:+0.0;-0.0} %); MiB during the run: {string.Join(", ", residentSeries)}");
        if (latencies.Length > 0)
            log.WriteLine($"status while generating: {latencies.Length} requests, p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {latencies[^1]:0.0} ms");
    }

    [SkippableFact]
    public async Task A_server_killed_mid_generation_and_mid_upload_starts_again_cleanly_and_removes_the_upload()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals");
        using var temp = new TempFolder();
        var environment = new Dictionary<string, string> { ["TMPDIR"] = temp.Path };
        string uploads = Path.Combine(temp.Path, "musicgen-serve");
        using (var server = ServeProcess.Start(environment))
        {
            string id = await Accept(server, await server.Client.PostAsJsonAsync("/v1/generations", new { prompt = "drone", duration = 300, greedy = true }));
            while ((await Status(server, id)).GetProperty("progress").GetProperty("step").GetInt32() == 0) await Task.Delay(20);
            // An upload that stops half-way: the server holds its first bytes in a file while it waits for the rest.
            using var stall = new CancellationTokenSource();
            var upload = server.Client.PostAsync("/v1/generations", new StalledUpload(stall.Token), stall.Token);
            var clock = Stopwatch.StartNew();
            // Named without an extension until the whole file has come and its content tells the format.
            while (!Directory.Exists(uploads) || !Directory.EnumerateFiles(uploads, "*", SearchOption.AllDirectories).Any())
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the upload never reached a file");
                await Task.Delay(10);
            }

            CliProcess.Signal(server.Process, 9);
            Assert.True(server.WaitForExit(TimeSpan.FromMinutes(1)), "SIGKILL did not end the server");
            stall.Cancel();
            await Assert.ThrowsAnyAsync<Exception>(() => upload);
            Assert.NotEmpty(Directory.EnumerateFiles(uploads, "*", SearchOption.AllDirectories)); // what it could not remove
        }

        using (var again = ServeProcess.Start(environment))
        {
            Assert.Empty(Directory.EnumerateFiles(uploads, "*", SearchOption.AllDirectories));
            Assert.Equal(HttpStatusCode.OK, (await again.Client.GetAsync("/healthz")).StatusCode);
            string id = await Accept(again, await again.Client.PostAsJsonAsync("/v1/generations", new { prompt = "again", duration = 0.2, greedy = true }));
            Assert.Equal("done", (await Final(again, id, new Observed()))?.GetProperty("status").GetString());
        }
    }

    private async Task RunClient(ServeProcess server, Observed seen, Client kind, Random random)
    {
        seen.Clients.AddOrUpdate(kind, 1, (_, n) => n + 1);
        var http = server.Client;
        object body = new { prompt = $"soak {random.Next(1000)}", duration = 0.1 + 0.1 * random.Next(4) };
        double finishedBefore = await FinishedSoFar(server); // for the downloads: only a generation finished since can evict this one
        switch (kind)
        {
            case Client.Valid:
                await Follow(server, seen, finishedBefore, await Send(seen, () => http.PostAsJsonAsync("/v1/generations", body)));
                break;
            case Client.Seeded:
                await Follow(server, seen, finishedBefore, await Send(seen, () => http.PostAsJsonAsync("/v1/generations", new { prompt = "seeded", duration = 0.2, seed = random.Next() })));
                break;
            case Client.Upload:
                var form = new MultipartFormDataContent { { new StringContent("continued"), "prompt" }, { new StringContent("0.3"), "duration" } };
                var wav = new ByteArrayContent(Wav(0.1));
                wav.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
                form.Add(wav, "continue", "intro.wav");
                await Follow(server, seen, finishedBefore, await Send(seen, () => http.PostAsync("/v1/generations", form)));
                break;
            case Client.Invalid:
                string[] bodies = ["{", "{\"prompt\": 5}", "{\"prompt\": \"x\", \"duration\": -1}", "{\"prompt\": \"x\", \"colour\": 1}", "[]", ""];
                var invalid = await Send(seen, () => http.PostAsync("/v1/generations", new StringContent(bodies[random.Next(bodies.Length)], Encoding.UTF8, "application/json")));
                Assert.InRange((int)invalid.StatusCode, 400, 499);
                break;
            case Client.Oversized:
                var big = new MultipartFormDataContent { { new StringContent("too big"), "prompt" } };
                var file = new ByteArrayContent(new byte[1_200_000]);
                file.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
                big.Add(file, "continue", "big.wav");
                try
                {
                    Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Send(seen, () => http.PostAsync("/v1/generations", big))).StatusCode);
                }
                catch (HttpRequestException)
                {
                    // Refused before the whole body was sent: the server closed the connection under the client's upload.
                }
                break;
            case Client.Cancel:
                var submitted = await Send(seen, () => http.PostAsJsonAsync("/v1/generations", new { prompt = "cancel me", duration = 1.0 }));
                if (submitted.StatusCode == HttpStatusCode.Accepted)
                {
                    string id = await Accept(server, submitted);
                    seen.Deleted[id] = 0;
                    Assert.Equal(HttpStatusCode.NoContent, (await Send(seen, () => http.DeleteAsync($"/v1/generations/{id}"))).StatusCode);
                }
                await Follow(server, seen, finishedBefore, submitted);
                break;
            case Client.OneShot:
            case Client.HangUp:
                using (var response = await Send(seen, () => http.SendAsync(OneShotRequest(body), HttpCompletionOption.ResponseHeadersRead)))
                {
                    if (response.StatusCode == HttpStatusCode.TooManyRequests) break;
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    await using var stream = await response.Content.ReadAsStreamAsync();
                    if (kind == Client.HangUp)
                    {
                        await stream.ReadExactlyAsync(new byte[44]);
                        Interlocked.Increment(ref seen.HangUps);
                        break; // disposing the response mid-body closes the connection
                    }
                    Assert.Equal(response.Content.Headers.ContentLength, await Drain(stream, 65536, delay: false));
                    Interlocked.Increment(ref seen.OneShots);
                }
                break;
            case Client.SlowReader:
                var accepted = await Send(seen, () => http.PostAsJsonAsync("/v1/generations", body));
                if (accepted.StatusCode == HttpStatusCode.Accepted)
                {
                    string id = await Accept(server, accepted);
                    using var audio = await Send(seen, () => http.GetAsync($"/v1/generations/{id}/audio", HttpCompletionOption.ResponseHeadersRead));
                    Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
                    Assert.Equal(audio.Content.Headers.ContentLength, await Drain(await audio.Content.ReadAsStreamAsync(), 512, delay: true));
                }
                await Follow(server, seen, finishedBefore, accepted);
                break;
            case Client.Events:
                var listened = await Send(seen, () => http.PostAsJsonAsync("/v1/generations", body));
                if (listened.StatusCode == HttpStatusCode.Accepted)
                {
                    string id = await Accept(server, listened);
                    var listeners = Enumerable.Range(0, 3).Select(_ => LastEvent(seen, http, id)).ToArray();
                    var final = await Follow(server, seen, finishedBefore, listened);
                    Assert.All(await Task.WhenAll(listeners), name => Assert.Equal(final, name));
                }
                else await Follow(server, seen, finishedBefore, listened);
                break;
            case Client.Burst:
                var burst = await Task.WhenAll(Enumerable.Range(0, 2 * Queue).Select(_ => Send(seen, () => http.PostAsJsonAsync("/v1/generations", body))));
                foreach (var refused in burst.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
                {
                    Assert.NotNull(refused.Headers.RetryAfter);
                    Assert.Contains("rfc6585", await refused.Content.ReadAsStringAsync());
                }
                await Task.WhenAll(burst.Select(r => Follow(server, seen, finishedBefore, r)));
                break;
        }
    }

    /// <summary>Sends a request and records its answer's status; 429s are counted as refusals.</summary>
    private static async Task<HttpResponseMessage> Send(Observed seen, Func<Task<HttpResponseMessage>> send)
    {
        var response = await send();
        seen.Statuses.Add((int)response.StatusCode);
        if (response.StatusCode == HttpStatusCode.TooManyRequests) Interlocked.Increment(ref seen.Rejected);
        return response;
    }

    /// <summary>
    /// Follows a submission to its final state, then downloads its audio and codes; returns the final status, or
    /// null when it was refused (429). A download may miss only a generation evicted by the newer ones kept.
    /// </summary>
    private static async Task<string?> Follow(ServeProcess server, Observed seen, double finishedBefore, HttpResponseMessage submitted)
    {
        if (submitted.StatusCode == HttpStatusCode.TooManyRequests) return null;
        string id = await Accept(server, submitted);
        Interlocked.Increment(ref seen.Accepted);
        if (await Final(server, id, seen) is not { } final)
        {
            // Only a client's DELETE forgets a generation that is not finished long enough to be evicted: it came after the end.
            Assert.True(seen.Deleted.ContainsKey(id), $"{id} was forgotten while no one could have evicted it");
            Interlocked.Increment(ref seen.Done);
            return "done";
        }
        string status = final.GetProperty("status").GetString()!;
        Interlocked.Increment(ref status == "done" ? ref seen.Done : ref seen.Cancelled);
        Assert.True(status is "done" or "cancelled", $"{id} ended {status}");
        using var audio = await Send(seen, () => server.Client.GetAsync($"/v1/generations/{id}/audio"));
        using var codes = await Send(seen, () => server.Client.GetAsync($"/v1/generations/{id}/codes"));
        if (audio.StatusCode == HttpStatusCode.NotFound || codes.StatusCode == HttpStatusCode.NotFound)
        {
            Assert.True(await FinishedSoFar(server) - finishedBefore >= Keep, $"{id} was forgotten before {Keep} newer generations finished");
            Interlocked.Increment(ref seen.Evicted);
            return status;
        }
        var expected = status == "done" ? HttpStatusCode.OK : HttpStatusCode.Conflict;
        Assert.Equal((expected, expected), (audio.StatusCode, codes.StatusCode));
        if (status == "done") Assert.Equal("RIFF", Encoding.ASCII.GetString((await audio.Content.ReadAsByteArrayAsync())[..4]));
        return status;
    }

    /// <summary>
    /// Polls a generation's status until it is final, timing the requests answered while it runs; null when it is
    /// forgotten first (deleted by a client).
    /// </summary>
    private static async Task<JsonElement?> Final(ServeProcess server, string id, Observed seen)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var timer = Stopwatch.StartNew();
            using var response = await server.Client.GetAsync($"/v1/generations/{id}");
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            string name = status.GetProperty("status").GetString()!;
            if (name == "running") seen.RunningStatusMilliseconds.Add(timer.Elapsed.TotalMilliseconds);
            if (name is not ("queued" or "running")) return status;
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"{id} still {name} after 3 minutes");
            await Task.Delay(25);
        }
    }

    /// <summary>The name of the last event of a generation's event stream.</summary>
    private static async Task<string> LastEvent(Observed seen, HttpClient http, string id)
    {
        using var response = await Send(seen, () => http.GetAsync($"/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string last = "";
        while (await reader.ReadLineAsync() is { } line)
            if (line.StartsWith("event: ", StringComparison.Ordinal)) last = line["event: ".Length..];
        return last;
    }

    private static async Task<string> Accept(ServeProcess server, HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {text}\n{server.Log}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static double Unfinished(Dictionary<string, double> metrics) =>
        metrics["musicgen_generations{status=\"queued\"}"] + metrics["musicgen_generations{status=\"running\"}"];

    private static async Task<double> FinishedSoFar(ServeProcess server)
    {
        var metrics = Metrics(await server.Client.GetStringAsync("/metrics"));
        return metrics.Where(m => m.Key.StartsWith("musicgen_generations_total{", StringComparison.Ordinal)).Sum(m => m.Value);
    }

    private static async Task<JsonElement> Status(ServeProcess server, string id) =>
        JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/generations/{id}")).RootElement;

    private static HttpRequestMessage OneShotRequest(object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = JsonContent.Create(body) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("audio/wav"));
        return request;
    }

    /// <summary>Reads a stream to its end, in reads of <paramref name="size"/> bytes, a slow reader pausing between them.</summary>
    private static async Task<long> Drain(Stream stream, int size, bool delay)
    {
        var buffer = new byte[size];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
            if (delay) await Task.Delay(2);
        }
        return total;
    }

    private static byte[] Wav(double seconds)
    {
        var bytes = new MemoryStream();
        var samples = Enumerable.Range(0, (int)(32000 * seconds)).Select(i => (float)Math.Sin(i * 0.05)).ToArray();
        MusicGen.Engine.Audio.WavFile.Write(bytes, new MusicGen.Engine.Audio.AudioClip(32000, [samples]), MusicGen.Engine.Audio.SampleFormat.Pcm16);
        return bytes.ToArray();
    }

    private static Dictionary<string, double> Metrics(string text) =>
        text.Split('\n').Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => double.Parse(parts[1], CultureInfo.InvariantCulture));

    private static long ResidentBytes(Process process) =>
        long.Parse(ResidentKilobytes().Match(File.ReadAllText($"/proc/{process.Id}/status")).Groups[1].Value, CultureInfo.InvariantCulture) * 1024;

    private static double Percentile(double[] sorted, double fraction) => sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];

    [GeneratedRegex(@"VmRSS:\s+(\d+) kB")]
    private static partial Regex ResidentKilobytes();

    /// <summary>A multipart upload that sends the start of a WAV file, then waits until it is cancelled.</summary>
    private sealed class StalledUpload : HttpContent
    {
        private readonly CancellationToken _until;

        public StalledUpload(CancellationToken until)
        {
            _until = until;
            Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=stall");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("--stall\r\nContent-Disposition: form-data; name=\"continue\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"));
            await stream.WriteAsync(Wav(0.5).AsMemory(0, 16000));
            await stream.FlushAsync();
            await Task.Delay(Timeout.Infinite, _until);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
