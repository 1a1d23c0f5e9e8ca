using System.Text.Json;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Generation;

public class LongformTests(ITestOutputHelper output)
{
    private const int FrameRate = 50;

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
            .Select(w => new LongformWindow(w.GetProperty("offset").GetInt32(), w.GetProperty("prompt_frames").GetInt32(), w.GetProperty("frames").GetInt32()))
            .ToArray();
        var options = new LongformOptions(settings.GetProperty("duration").GetDouble(), settings.GetProperty("window").GetDouble(),
            settings.GetProperty("extend_stride").GetDouble());

        Assert.Equal(recorded, LongformGenerator.Plan(options, FrameRate, recorded[0].PromptFrames));
    }

    [Fact]
    public void Audiocraft_rounding_ends_4_3_seconds_a_frame_short_with_a_window_of_no_new_frames()
    {
        // int(4.3 · 50) is 215, but int((4.3 − 3.9) · 50) is 19: the last window only repeats its prompt.
        var windows = LongformGenerator.Plan(new LongformOptions(4.3, 2, 1.3), FrameRate, initialPromptFrames: 25);
        Assert.Equal(new LongformWindow(195, 19, 19), windows[^1]);
        Assert.Equal(214, windows[0].Frames + windows.Skip(1).Sum(w => w.NewFrames));
    }

    [Fact]
    public void Windows_tile_the_piece_without_gaps_or_overlaps()
    {
        Properties.ForAll(Properties.Ints((1, 4000), (2, 300), (1, 299), (0, 60)), s =>
        {
            var (durationFrames, windowFrames, strideFrames, prompt) = (s[0], s[1], s[2] % (s[1] - 1) + 1, s[3]);
            var options = new LongformOptions(durationFrames / (double)FrameRate, windowFrames / (double)FrameRate, strideFrames / (double)FrameRate);
            // audiocraft ends at int(duration · frame rate) frames, which float rounding can put one below durationFrames.
            int total = (int)(options.Duration * FrameRate);
            prompt = Math.Min(prompt, Math.Max(0, Math.Min(total, windowFrames) - 1));
            var windows = LongformGenerator.Plan(options, FrameRate, prompt);
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
                Assert.Equal(i * (int)(FrameRate * options.ExtendStride), w.Offset);
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
            var window = LongformGenerator.MelodyWindow(tune, s[1], s[2]);
            Assert.Equal(s[2], window.Length);
            for (int i = 0; i < window.Length; i++) Assert.Equal((s[1] + i) % s[0], (int)window[i]); // positions % wav_length
        });
    }

    [Theory]
    [InlineData(0, 30, 18, "--duration 0 s must be more than 0")]
    [InlineData(3601, 30, 18, "at most 3600 s")]
    [InlineData(60, 31, 18, "--window 31 s must be more than 0 and at most the model's 30 s")]
    [InlineData(60, 0, 18, "--window 0 s")]
    [InlineData(60, 30, 30, "--extend-stride 30 s must be more than 0 and less than the window (30 s)")]
    [InlineData(60, 10, 0, "--extend-stride 0 s")]
    [InlineData(60, 10, double.NaN, "--extend-stride NaN s")]
    public void Bad_options_are_one_line_errors(double duration, double window, double stride, string message)
    {
        var error = Assert.Throws<MusicGenException>(() => new LongformOptions(duration, window, stride).Validate(30));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Frames_stream_out_once_each_in_order_and_the_first_audio_comes_within_half_a_second()
    {
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-prompt"), "model"));
        var model = MusicgenModels.Load(backend, checkpoint);
        var generator = new MusicgenGenerator(backend, model, T5Tokenizer.FromFolder(checkpoint.Folder), checkpoint.Generation.DecoderStartTokenId);
        var longform = new LongformGenerator(generator, FrameRate, model.Config.AudioEncoder.SamplingRate);
        var sampling = new SamplingOptions(Greedy: true, 3.0, TopK: 0, TopP: 1.0, Temperature: 1.0, Seed: 0);
        var request = new GenerationRequest(["bass"], 0, sampling);
        var options = new LongformOptions(Duration: 3.1, Window: 1.4, ExtendStride: 0.5);

        var streamed = new List<CodesBatch>();
        int nextFrame = 0, framesBeforeAudio = -1, audioSamples = 0;
        using var audio = new AudioStream(model.AudioEncoder, 1, 1, generator.Layout.CodebooksPerChannel);
        var result = longform.Generate(request, options, onFrames: (codes, first) =>
        {
            Assert.Equal(nextFrame, first);
            nextFrame += codes.Frames;
            streamed.Add(codes);
            audioSamples += audio.Push(codes).Samples;
            if (audioSamples > 0 && framesBeforeAudio < 0) framesBeforeAudio = nextFrame;
        });
        audioSamples += audio.Finish().Samples;

        var codes = result.Codes;
        Assert.Equal((int)(3.1 * FrameRate), codes.Frames);
        Assert.Equal(codes.Frames, nextFrame);
        var joined = Enumerable.Range(0, codes.Codebooks).SelectMany(k => streamed.SelectMany(c => c.Values.AsSpan(k * c.Frames, c.Frames).ToArray()));
        Assert.Equal(codes.Values, joined.ToArray());
        Assert.Equal(codes.Frames * model.Config.AudioEncoder.HopLength, audioSamples);
        Assert.InRange(framesBeforeAudio, 1, FrameRate / 2);
        output.WriteLine($"first audio after {framesBeforeAudio} generated frames ({framesBeforeAudio / (double)FrameRate:0.00} s)");
    }
}
