using MusicGen.Engine;
using MusicGen.Engine.Audio;
using Xunit.Abstractions;

namespace MusicGen.Tests.Pipeline;

/// <summary>Long pieces and streamed audio through the pipeline.</summary>
public class LongformPipelineTests(PipelineFixture models, ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    private static AudioClip Tone(double seconds, int channels) =>
        new(32000, Enumerable.Range(0, channels)
            .Select(c => Enumerable.Range(0, (int)(seconds * 32000)).Select(i => 0.3f * MathF.Sin(2 * MathF.PI * (330 + 110 * c) * i / 32000)).ToArray())
            .ToArray());

    [Fact]
    public void A_long_piece_is_streamed_as_it_is_generated_and_matches_the_whole_decode()
    {
        var request = MusicRequest.FromText("lofi beat") with { Greedy = true, Duration = 2.5, Window = 1, ExtendStride = 0.6 };
        var plan = models.Mono.Prepare(request);
        Assert.True(plan.IsLongform);

        var steps = new List<GenerationProgress>();
        var whole = models.Mono.Generate(plan, new Recorder(steps));
        Assert.Equal(125, whole.Codes.Frames);
        Assert.Equal(125 * 640, whole.Audio.Samples);
        // The progress covers the whole piece: every step of every window, once, in order.
        Assert.Equal(Enumerable.Range(1, plan.Steps), steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.Equal(plan.Steps, s.Total));

        var chunks = new List<AudioBatch>();
        int stepsDone = 0, framesAtFirstChunk = -1;
        var streamed = models.Mono.Generate(plan, chunk =>
        {
            // A chunk comes out during a step, before that step is reported; the first window's frames lag its steps by 3.
            if (chunks.Count == 0) framesAtFirstChunk = stepsDone + 1 - 3;
            chunks.Add(chunk);
        }, new Recorder([], step => stepsDone = step.Step));
        Assert.Equal(whole.Codes.Values, streamed.Codes.Values);
        float[] joined = chunks.SelectMany(c => c.Values).ToArray();
        Assert.Equal(whole.Audio.Samples, joined.Length);
        float peak = whole.Audio.Values.Max(MathF.Abs);
        double error = whole.Audio.Values.Zip(joined, (a, b) => Math.Abs(a - b)).Max() / peak;
        Assert.True(error <= 1e-3, $"streamed audio off by {error:E2} of the peak");
        // The first chunk comes within a second of generated audio (50 frames).
        Assert.InRange(framesAtFirstChunk, 1, 50);
        output.WriteLine($"{chunks.Count} chunks; first after {framesAtFirstChunk} generated frames; streamed vs whole decode {error:E2} of the peak");
    }

    [Fact]
    public async Task The_async_stream_gives_the_same_chunks()
    {
        var plan = models.Mono.Prepare(MusicRequest.FromText("drums") with { Greedy = true, Duration = 1.3, Window = 1, ExtendStride = 0.5 });
        var chunks = new List<AudioBatch>();
        models.Mono.Generate(plan, chunks.Add);
        var streamed = new List<AudioBatch>();
        await foreach (var chunk in models.Mono.StreamAsync(plan)) streamed.Add(chunk);
        Assert.Equal(chunks.Select(c => c.Values), streamed.Select(c => c.Values));
    }

    [Fact]
    public async Task A_reader_that_stops_early_stops_the_generation()
    {
        var plan = models.Mono.Prepare(MusicRequest.FromText("drums") with { Greedy = true, Duration = 20, Window = 2, ExtendStride = 1 });
        await foreach (var _ in models.Mono.StreamAsync(plan)) break;
        // The pipeline is free again at once (one generation at a time), not after 20 s of audio.
        Assert.Equal(5 * 640, models.Mono.Generate(MusicRequest.FromText("x") with { Greedy = true, Steps = 8 }).Audio.Samples);
    }

    [Fact]
    public void A_stereo_batch_continues_audio_prompts_of_different_lengths_over_several_windows()
    {
        var request = MusicRequest.FromText("pads", "strings") with
        {
            Greedy = true, Duration = 1.6, Window = 1, ExtendStride = 0.6, AudioPrompts = [Tone(0.3, 2), Tone(0.5, 2)],
        };
        var plan = models.Stereo.Prepare(request);
        var whole = models.Stereo.Generate(plan);
        Assert.Equal([2, 2, 80 * 640], whole.Audio.Shape);
        Assert.Equal(25, whole.PromptFrames);

        var chunks = new List<AudioBatch>();
        models.Stereo.Generate(plan, chunks.Add);
        for (int b = 0; b < 2; b++)
        {
            Assert.Equal(whole.Audio.Starts[b], chunks.Sum(c => c.Starts[b]));
            var clip = whole.Audio.Clip(b);
            for (int c = 0; c < 2; c++)
            {
                var streamed = chunks.SelectMany(chunk => chunk.Clip(b).Channels[c]).ToArray();
                Assert.Equal(clip.Channels[c].Length, streamed.Length);
                Assert.True(clip.Channels[c].Zip(streamed, (x, y) => Math.Abs(x - y)).Max() <= 1e-5f);
            }
        }
    }

    [Fact]
    public void A_melody_model_follows_a_short_tune_over_a_long_piece()
    {
        using var backend = new MusicGen.Engine.Backends.Cpu.CpuBackend();
        using var melody = MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("musicgen-melody"), "model"), backend);
        var request = MusicRequest.FromText("whistle") with { Greedy = true, Duration = 1.5, Window = 1, ExtendStride = 0.5, Melodies = [Tone(0.7, 1)] };
        var result = melody.Generate(request);
        Assert.Equal(75, result.Codes.Frames);
        Assert.Equal(75 * 640, result.Audio.Samples);
    }

    private sealed class Recorder(List<GenerationProgress> steps, Action<GenerationProgress>? then = null) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value)
        {
            steps.Add(value);
            then?.Invoke(value);
        }
    }
}
