using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Loaders;

namespace MusicGen.Tests.Pipeline;

public class MusicgenPipelineTests(PipelineFixture models) : IClassFixture<PipelineFixture>
{
    private static readonly MusicRequest Greedy = MusicRequest.FromText("lofi beat") with { Greedy = true };

    private static AudioClip Tone(double seconds, int rate = 32000, int channels = 1) =>
        new(rate, Enumerable.Range(0, channels)
            .Select(_ => Enumerable.Range(0, (int)(seconds * rate)).Select(i => 0.3f * MathF.Sin(2 * MathF.PI * 330 * i / rate)).ToArray())
            .ToArray());

    [Fact]
    public void Results_are_shaped_and_the_seed_reproduces_them()
    {
        var request = MusicRequest.FromText("rock", "jazz") with { Steps = 10, Seed = 5 };
        var result = models.Mono.Generate(request);
        // 10 steps of 4 delayed codebooks make 10 − 3 frames of 640 samples.
        Assert.Equal([2, 1, 4, 7], result.Codes.Shape);
        Assert.Equal([2, 1, 7 * 640], result.Audio.Shape);
        Assert.Equal(32000, result.Audio.SampleRate);
        Assert.Equal(5UL, result.Seed);
        Assert.Equal(0, result.PromptFrames);
        Assert.Equal(7 / 50.0, result.GeneratedSeconds, 9);
        Assert.Equal(result.Audio.Values.AsSpan(7 * 640, 7 * 640).ToArray(), result.Audio.Clip(1).Channels[0]);

        var again = models.Mono.Generate(request);
        Assert.Equal(result.Codes.Values, again.Codes.Values);
        Assert.Equal(result.Audio.Values, again.Audio.Values);
        Assert.NotEqual(result.Codes.Values, models.Mono.Generate(request with { Seed = 6 }).Codes.Values);
    }

    [Fact]
    public void Stereo_results_have_two_channels_of_half_the_codebooks()
    {
        var result = models.Stereo.Generate(new MusicRequest { Samples = 2, Steps = 8, Seed = 1 });
        Assert.Equal([2, 2, 4, 5], result.Codes.Shape);
        Assert.Equal([2, 2, 5 * 640], result.Audio.Shape);
        Assert.Equal(2, result.Audio.Clip(1).ChannelCount);
    }

    [Fact]
    public void Progress_reports_every_step_in_order()
    {
        var reports = new List<GenerationProgress>();
        models.Mono.Generate(Greedy with { Steps = 6 }, new ListProgress(reports));
        Assert.Equal([1, 2, 3, 4, 5, 6], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.Equal(6, r.Total));
        Assert.All(reports, r => Assert.True(r.StepsPerSecond > 0));
        Assert.Equal(TimeSpan.Zero, reports[^1].Remaining);
    }

    [Fact]
    public void Cancellation_stops_at_the_next_step_and_the_pipeline_goes_on()
    {
        using var cancellation = new CancellationTokenSource();
        var reports = new List<GenerationProgress>();
        var progress = new ListProgress(reports, report => { if (report.Step == 3) cancellation.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => models.Mono.Generate(Greedy with { Steps = 20 }, progress, cancellation.Token));
        Assert.Equal(3, reports.Count);

        Assert.ThrowsAny<OperationCanceledException>(() => models.Mono.Generate(Greedy with { Steps = 20 }, null, cancellation.Token));
        Assert.Equal([1, 1, 4, 7], models.Mono.Generate(Greedy with { Steps = 10 }).Codes.Shape);
    }

    [Fact]
    public async Task Generating_asynchronously_gives_the_same_result()
    {
        var request = Greedy with { Steps = 6 };
        var result = await models.Mono.GenerateAsync(request);
        Assert.Equal(models.Mono.Generate(request).Codes.Values, result.Codes.Values);
        // Concurrent calls take turns on the backend.
        var both = await Task.WhenAll(models.Mono.GenerateAsync(request), models.Mono.GenerateAsync(request));
        Assert.All(both, r => Assert.Equal(result.Codes.Values, r.Codes.Values));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => models.Mono.GenerateAsync(request, cancellation: cancelled.Token));
    }

    [Fact]
    public void Durations_become_steps_after_the_prompt_and_the_default_comes_from_the_generation_config()
    {
        // One step per frame at 50 frames/s, plus the delay of the last of 4 codebooks.
        Assert.Equal(78, models.Mono.Prepare(Greedy with { Duration = 1.5 }).Steps);
        Assert.Equal(78, models.Mono.StepsFor(1.5));
        // A 0.5 s audio prompt is 25 frames of the duration.
        Assert.Equal(78 - 25, models.Mono.Prepare(Greedy with { Duration = 1.5, AudioPrompts = [Tone(0.5)] }).Steps);
        Assert.Equal(12, models.Mono.Prepare(Greedy with { Steps = 12 }).Steps);
        // generation_config.json: max_length 1500 counts the start token.
        Assert.Equal(1499, models.Mono.Prepare(Greedy).Steps);
        Assert.Equal(3.0, models.Mono.Prepare(MusicRequest.FromText("x")).Sampling.GuidanceScale);
        Assert.Equal(250, models.Mono.Prepare(MusicRequest.FromText("x")).Sampling.TopK);
    }

    [Fact]
    public void A_shorter_audio_prompt_is_padded_on_the_left_and_the_padding_is_cut_from_its_audio()
    {
        var result = models.Mono.Generate(MusicRequest.FromText("a", "b") with
        {
            AudioPrompts = [Tone(1.0, rate: 44100), Tone(0.5)],
            Duration = 2,
            Greedy = true,
        });
        Assert.Equal(50, result.PromptFrames);
        Assert.Equal(64000, result.Audio.Samples);
        Assert.Equal([0, 16000], result.Audio.Starts);
        Assert.Equal(64000, result.Audio.Clip(0).Length);
        Assert.Equal(48000, result.Audio.Clip(1).Length);
    }

    [Fact]
    public void Prompt_codes_continue_like_the_audio_they_came_from()
    {
        var first = models.Stereo.Generate(new MusicRequest { Steps = 10, Greedy = true });
        var continued = models.Stereo.Generate(new MusicRequest { PromptCodes = first.Codes, Steps = 6, Greedy = true });
        Assert.Equal(first.Codes.Frames, continued.PromptFrames);
        // As after an audio prompt, the first 4 − 1 steps complete the delayed codebooks of the prompt's last frames.
        Assert.Equal(first.Codes.Frames + 6 - 3, continued.Codes.Frames);
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 4; k++)
                for (int f = 0; f < first.Codes.Frames; f++)
                    Assert.Equal(first.Codes[0, c, k, f], continued.Codes[0, c, k, f]);
    }

    [Fact]
    public void Capabilities_say_what_each_model_accepts()
    {
        Assert.True(models.Mono.Model.AcceptsAudioPrompts);
        Assert.False(models.Mono.Model.AcceptsMelodies);
        Assert.Equal(0, models.Mono.Model.ConditioningPositions);
        Assert.False(models.Melody.AcceptsAudioPrompts);
        Assert.True(models.Melody.AcceptsMelodies);
        Assert.Equal(models.Melody.Model.Config.ChromaLength, models.Melody.Model.ConditioningPositions);
        Assert.Equal(2, models.Stereo.Channels);

        var followed = models.Melody.Generate(MusicRequest.FromText("reggae") with { Melodies = [Tone(1.5, rate: 22050, channels: 2)], Steps = 8, Greedy = true });
        Assert.Equal([1, 1, 4, 5], followed.Codes.Shape);
        Assert.Contains("not available for melody checkpoints",
            Assert.Throws<InvalidRequestException>(() => models.Melody.Generate(Greedy with { Steps = 8, AudioPrompts = [Tone(1)] })).Message);
    }

    [Fact]
    public void The_inspector_sees_every_part_by_module_path_and_costs_nothing_when_removed()
    {
        var seen = new List<(string Name, int[] Shape)>();
        var model = models.Mono.Model;
        model.Inspector = (name, tensor) => seen.Add((name, tensor.ShapeArray()));
        try
        {
            models.Mono.Generate(MusicRequest.FromText("drums") with { Steps = 5, AudioPrompts = [Tone(0.1)], Guidance = 1 });
        }
        finally
        {
            model.Inspector = null;
        }
        var names = seen.Select(s => s.Name).ToHashSet();
        int layers = model.Config.Decoder.NumHiddenLayers;
        Assert.Contains("text_encoder.shared", names);
        Assert.Contains("text_encoder.encoder.block.0", names);
        Assert.Contains("text_encoder.encoder.final_layer_norm", names);
        Assert.Contains($"decoder.model.decoder.layers.{layers - 1}", names);
        Assert.Contains("decoder.model.decoder.layer_norm", names);
        Assert.Contains("audio_encoder.encoder.layers.0", names);
        Assert.Contains("audio_encoder.quantizer.decode", names);
        Assert.Contains("audio_encoder.decoder.layers.0", names);
        // One decoder pass per step, each reporting its final norm as [N, T, D].
        Assert.Equal(5, seen.Count(s => s.Name == "decoder.model.decoder.layer_norm"));

        seen.Clear();
        models.Mono.Generate(Greedy with { Steps = 5 });
        Assert.Empty(seen);
    }

    [Fact]
    public void Bad_requests_are_errors_before_generating()
    {
        void Fails(string expected, MusicRequest request) =>
            Assert.Contains(expected, Assert.Throws<InvalidRequestException>(() => models.Mono.Prepare(request)).Message);
        Fails("not both", Greedy with { Steps = 5, Duration = 1 });
        Fails("unconditional", Greedy with { Samples = 2 });
        Fails("at least one", new MusicRequest { Samples = 0 });
        Fails("Duration -1 s must be more than 0", Greedy with { Duration = -1 });
        Fails("at most 3600 s", Greedy with { Duration = 3601 });
        Fails("ExtendStride 2 s must be more than 0 and less than the window (2 s)", Greedy with { Duration = 5, Window = 2, ExtendStride = 2 });
        Fails("Window 31 s", Greedy with { Duration = 60, Window = 31 });
        Fails("ExtendStride 18 s must be more than 0 and less than the window (10 s)", Greedy with { Duration = 60, Window = 10 });
        Fails("shorter than the window", Greedy with { Duration = 5, Window = 1, ExtendStride = 0.5, AudioPrompts = [Tone(1)] });
        Fails("leaves nothing to generate", Greedy with { Duration = 0.5, AudioPrompts = [Tone(1)] });
        Fails("one per piece", MusicRequest.FromText("a", "b", "c") with { AudioPrompts = [Tone(1), Tone(1)] });
        Fails("needs a melody checkpoint", Greedy with { Melodies = [Tone(1)] });
        Fails("TopP 2 must be in (0, 1]", Greedy with { TopP = 2 });
        Assert.Contains("at most 30 s", Assert.Throws<InvalidRequestException>(() => models.Mono.Generate(Greedy with { Steps = 1504 })).Message);
    }

    [Fact]
    public void Errors_say_which_input_is_wrong()
    {
        using var backend = new Engine.Backends.Cpu.CpuBackend();
        Assert.Contains("standalone EnCodec", Assert.Throws<CheckpointException>(
            () => MusicgenPipeline.Open(Path.Combine(TestPaths.Golden("encodec-32khz"), "model"), backend)).Message);
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), "{}");
        Assert.IsAssignableFrom<MusicGenException>(Assert.Throws<CheckpointException>(() => MusicgenPipeline.Open(folder.Path, backend)));
        Assert.Contains("text encoder takes at most 512", Assert.Throws<InvalidRequestException>(
            () => models.Mono.Generate(MusicRequest.FromText(string.Join(' ', Enumerable.Repeat("drums", 600))) with { Steps = 5 })).Message);
    }

    private sealed class ListProgress(List<GenerationProgress> reports, Action<GenerationProgress>? then = null) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value)
        {
            reports.Add(value);
            then?.Invoke(value);
        }
    }
}
