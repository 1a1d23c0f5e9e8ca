using System.Text.Json;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Generation;

public class LongformTests(ITestOutputHelper output)
{
    private const int FrameRate = 50;
    private static readonly CodebookLayout Mono = new(Channels: 1, CodebooksPerChannel: 4);

    [Theory]
    [InlineData("longform-mono")]
    [InlineData("longform-stereo")]
    [InlineData("longform-prompt")]
    [InlineData("longform-melody")]
    public void The_windows_are_those_audiocraft_ran_for_the_golden_case(string caseName)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Golden(caseName), "case.json")));
        var settings = document.RootElement.GetProperty("longform");
        var recorded = settings.GetProperty("windows").EnumerateArray()
            .Select(w => (w.GetProperty("offset").GetInt32(), w.GetProperty("prompt_frames").GetInt32(), w.GetProperty("frames").GetInt32()))
            .ToArray();
        var windows = GenerationWindow.Longform(settings.GetProperty("duration").GetDouble(), settings.GetProperty("window").GetDouble(),
            settings.GetProperty("extend_stride").GetDouble(), FrameRate, recorded[0].Item2, Mono);

        Assert.Equal(recorded, windows.Select(w => (w.Offset, w.PromptFrames, w.Frames)));
        Assert.All(windows, w => Assert.Equal(w.NewFrames == 0 ? 0 : w.NewFrames + 3, w.Steps));
    }

    [Fact]
    public void Audiocraft_rounding_ends_4_3_seconds_a_frame_short_with_a_window_of_no_new_frames()
    {
        // int(4.3 · 50) is 215, but int((4.3 − 3.9) · 50) is 19: the last window only repeats its prompt.
        var windows = GenerationWindow.Longform(4.3, 2, 1.3, FrameRate, promptFrames: 25, Mono);
        Assert.Equal(new GenerationWindow(195, 19, 19, Steps: 0), windows[^1]);
        Assert.Equal(214, windows[0].Frames + windows.Skip(1).Sum(w => w.NewFrames));
    }

    [Fact]
    public void Endless_windows_are_those_of_a_long_piece_made_one_at_a_time()
    {
        var longPiece = GenerationWindow.Longform(600, 2, 1.2, FrameRate, 7, Mono);
        Assert.Equal(longPiece.Take(400), GenerationWindow.Endless(2, 1.2, FrameRate, 7, Mono).Take(400));
        Assert.Throws<InvalidRequestException>(() => (MusicRequest.FromText("a") with { Forever = true, Duration = 10 }).Validate());
    }

    [Fact]
    public void Windows_tile_the_piece_without_gaps_or_overlaps()
    {
        Properties.ForAll(Properties.Ints((1, 4000), (2, 300), (1, 299), (0, 60)), s =>
        {
            var (durationFrames, windowFrames, strideFrames, prompt) = (s[0], s[1], s[2] % (s[1] - 1) + 1, s[3]);
            double duration = durationFrames / (double)FrameRate, stride = strideFrames / (double)FrameRate;
            // audiocraft ends at int(duration · frame rate) frames, which float rounding can put one below durationFrames.
            int total = (int)(duration * FrameRate);
            prompt = Math.Min(prompt, Math.Max(0, Math.Min(total, windowFrames) - 1));
            var windows = GenerationWindow.Longform(duration, windowFrames / (double)FrameRate, stride, FrameRate, prompt, Mono);
            if (total <= prompt)
            {
                Assert.Empty(windows); // nothing is left to generate after the prompt
                return;
            }
            int end = 0;
            for (int i = 0; i < windows.Count; i++)
            {
                var w = windows[i];
                Assert.True(w.Frames <= windowFrames, $"window {i} has {w.Frames} frames, more than {windowFrames}");
                Assert.Equal(i * (int)(FrameRate * stride), w.Offset);
                if (i > 0 && w.NewFrames > 0) Assert.Equal(end, w.Offset + w.PromptFrames); // continues exactly where the piece ends
                end = Math.Max(end, w.Offset + Math.Max(w.Frames, w.PromptFrames));
            }
            // One off where the float rounding of a window's length, int((duration − offset / frame rate) · frame rate),
            // differs from that of the total.
            Assert.InRange(end, total - 1, total + 1);
        }, cases: 300);
    }

    [Fact]
    public void A_window_of_the_melody_starts_at_its_offset_and_wraps_around_the_tune()
    {
        Properties.ForAll(Properties.Ints((1, 50), (0, 500), (0, 200)), s =>
        {
            var tune = Enumerable.Range(0, s[0]).Select(i => (float)i).ToArray();
            var window = MusicgenGenerator.MelodyWindow(tune, s[1], s[2]);
            Assert.Equal(s[2], window.Length);
            for (int i = 0; i < window.Length; i++) Assert.Equal((s[1] + i) % s[0], (int)window[i]); // positions % wav_length
        });
    }

    [Theory]
    [InlineData(0, 30, 18, "Duration", "Duration 0 s must be more than 0")]
    [InlineData(3601, 30, 18, "Duration", "at most 3600 s")]
    [InlineData(60, 31, 18, "Window", "Window 31 s must be more than 0 and at most the model's 30 s")]
    [InlineData(60, 0, 18, "Window", "Window 0 s")]
    [InlineData(60, 30, 30, "ExtendStride", "ExtendStride 30 s must be more than 0 and less than the window (30 s)")]
    [InlineData(60, 10, 0, "ExtendStride", "ExtendStride 0 s")]
    [InlineData(60, 10, double.NaN, "ExtendStride", "ExtendStride NaN s")]
    public void Bad_lengths_are_one_line_errors_naming_the_field(double duration, double window, double stride, string field, string message)
    {
        var error = Assert.Throws<InvalidRequestException>(() => new MusicRequest { Duration = duration, Window = window, ExtendStride = stride }.Validate());
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
        Assert.Contains(message.Replace(field, "--option"), error.Render(_ => "--option"));
    }

    [Fact]
    public void Frames_stream_out_once_each_in_order_and_the_first_audio_comes_within_half_a_second()
    {
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-prompt"), "model"));
        var model = MusicgenModels.Load(backend, checkpoint);
        var generator = new MusicgenGenerator(backend, model, T5Tokenizer.FromFolder(checkpoint.Folder), checkpoint.Generation.DecoderStartTokenId);
        var sampling = new SamplingOptions(Greedy: true, 3.0, TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);
        var plan = new GenerationPlan(["bass"], 1, sampling, generator.Layout, FrameRate, model.Config.AudioEncoder.HopLength,
            duration: 3.1, window: 1.4, extendStride: 0.5);

        var sink = new FrameRecorder();
        var codes = generator.Generate(plan, sink).Codes;

        Assert.Equal((int)(3.1 * FrameRate), codes.Frames);
        Assert.Equal(plan.Frames, codes.Frames);
        Assert.Equal(codes.Frames, sink.Frames);
        Assert.Equal(codes.Values, CodesBatch.Concatenate(sink.Codes).Values);
        Assert.Equal(plan.Samples, sink.AudioSamples);
        Assert.InRange(sink.FramesBeforeAudio, 1, FrameRate / 2);
        output.WriteLine($"first audio after {sink.FramesBeforeAudio} generated frames ({sink.FramesBeforeAudio / (double)FrameRate:0.00} s)");
    }

    /// <summary>Checks that frames come once each, in order, and counts the audio, decoded a frame at a time.</summary>
    private sealed class FrameRecorder : GenerationSink
    {
        public List<CodesBatch> Codes { get; } = [];
        public int Frames { get; private set; }
        public int AudioSamples { get; private set; }
        public int FramesBeforeAudio { get; private set; } = -1;

        public override int? ChunkFrames => 1;

        public override void OnCodes(CodesBatch codes, int first)
        {
            Assert.Equal(Frames, first);
            Frames += codes.Frames;
            Codes.Add(codes);
        }

        public override void OnAudio(AudioBatch chunk)
        {
            if (FramesBeforeAudio < 0) FramesBeforeAudio = Frames;
            AudioSamples += chunk.Samples;
        }
    }
}
