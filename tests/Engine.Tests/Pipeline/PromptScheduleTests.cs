using MusicGen.Engine;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Codec;
using MusicGen.Tests.Support;
using MusicGen.Verification;

namespace MusicGen.Tests.Pipeline;

/// <summary>
/// Prompt schedules over the long-form golden case (5 s in windows of 2 s every 1.2 s: windows start at 0, 1.2,
/// 2.4 and 3.6 s), generated greedily in float32 on the CPU.
/// </summary>
public sealed class PromptScheduleTests : IDisposable
{
    private readonly GoldenCase _golden = GoldenCase.Open(TestPaths.Golden("longform-mono"));
    private readonly CpuBackend _backend = new();
    private readonly MusicgenPipeline _pipeline;

    public PromptScheduleTests() => _pipeline = MusicgenPipeline.Open(_golden.ModelFolder, _backend);

    /// <summary>The golden case's request, with <paramref name="schedule"/>.</summary>
    private MusicRequest Request(params PromptChange[] schedule) =>
        MusicRequest.FromText(_golden.StringList("prompts")) with
        {
            Greedy = true, Guidance = _golden.Number("guidance_scale", 1.0), Duration = 5, Window = 2, ExtendStride = 1.2, Schedule = schedule,
        };

    private string Text => _golden.StringList("prompts")[0];

    /// <summary>The codes [B, K, F] in the decoder's codebook order, as the golden case holds them.</summary>
    private int[] Codes(MusicRequest request)
    {
        var codes = _pipeline.Generate(request).Codes;
        return new Engine.Generation.CodebookLayout(1, codes.Codebooks).ToDecoder(codes.Values, codes.Batch, codes.Frames);
    }

    [Fact]
    public void A_schedule_of_the_same_text_gives_exactly_the_reference_long_form_codes()
    {
        var expected = _golden.Int("longform.codes").Select(c => (int)c).ToArray();
        Assert.Equal(expected, Codes(Request(new PromptChange(0, Text), new PromptChange(1.2, Text), new PromptChange(3, Text))));
    }

    [Fact]
    public void A_changed_text_changes_the_windows_from_the_first_that_starts_at_or_after_it_and_none_before()
    {
        const int frames = 250, codebooks = 4;
        var expected = _golden.Int("longform.codes").Select(c => (int)c).ToArray(); // [1, K, F]
        // At 2 s: the window at 2.4 s is the first with the new text; its new frames start at 2.4 s + its 0.8 s of prompt.
        var changed = Codes(Request(new PromptChange(2.0, "a heavy metal riff with loud drums")));
        const int firstNew = 160;
        for (int k = 0; k < codebooks; k++)
        {
            Assert.Equal(expected.AsSpan(k * frames, firstNew).ToArray(), changed.AsSpan(k * frames, firstNew).ToArray());
            Assert.NotEqual(expected.AsSpan(k * frames + firstNew, frames - firstNew).ToArray(), changed.AsSpan(k * frames + firstNew, frames - firstNew).ToArray());
        }
    }

    [Theory]
    [InlineData(-1, "x", "must be at 0 s or later")]
    [InlineData(5, "x", "before the end of the piece")]
    [InlineData(1, " ", "has no text")]
    [InlineData(4, "x", "comes after the last window starts (3.6 s)")]
    public void A_bad_change_is_refused_naming_the_schedule(double seconds, string text, string message)
    {
        var e = Assert.Throws<InvalidRequestException>(() => _pipeline.Prepare(Request(new PromptChange(seconds, text))));
        Assert.Equal(nameof(MusicRequest.Schedule), e.Field);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData(2.0, 1.0, "must come after the one before (at 2 s)")]
    [InlineData(0, 0, "only the first change may be at 0 s")]
    public void Changes_out_of_order_are_refused(double first, double second, string message)
    {
        var e = Assert.Throws<InvalidRequestException>(() => Request(new PromptChange(first, "a"), new PromptChange(second, "b")).Validate());
        Assert.Equal(nameof(MusicRequest.Schedule), e.Field);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_schedule_needs_text_and_a_duration()
    {
        Assert.Contains("give {Prompts}", Assert.Throws<InvalidRequestException>(() =>
            new MusicRequest { Duration = 5, Schedule = [new(1, "a")] }.Validate()).Template);
        Assert.Contains("give its {Duration}", Assert.Throws<InvalidRequestException>(() =>
            (MusicRequest.FromText("a") with { Schedule = [new(1, "b")] }).Validate()).Template);
    }

    [Fact]
    public void A_live_prompt_changed_while_a_window_runs_is_a_schedule_changing_at_the_next_window()
    {
        const string next = "a heavy metal riff with loud drums";
        var live = new LivePrompt(Text);
        // The window at 1.2 s adds frames 100…160; while it runs the text changes, so the window at 2.4 s is the first to take it.
        var sink = new ChangingSink(firstFrame: 100, () => live.Change(next));
        var codes = _pipeline.Generate(_pipeline.Prepare(Request() with { Prompts = [], LivePrompt = live }), sink).Codes;
        Assert.True(sink.Changed);
        Assert.Equal(_pipeline.Generate(Request(new PromptChange(2.4, next))).Codes.Values, codes.Values);
        Assert.NotEqual(_pipeline.Generate(Request()).Codes.Values, codes.Values);
    }

    [Fact]
    public void A_piece_without_end_takes_its_schedule_as_a_long_piece_does()
    {
        // Its windows are a long piece's (0, 1.2, 2.4, 3.6 s …), so up to the 5 s piece's end the codes are the same,
        // the change at 2 s taken from the window at 2.4 s. The stream is stopped once it has passed 5 s.
        const string next = "a heavy metal riff with loud drums";
        var expected = _pipeline.Generate(Request(new PromptChange(2.0, next))).Codes;
        using var stop = new CancellationTokenSource();
        var sink = new CollectingSink(expected.Frames, stop);
        var endless = Request(new PromptChange(2.0, next)) with { Duration = null, Forever = true };
        Assert.Throws<OperationCanceledException>(() => _pipeline.Generate(_pipeline.Prepare(endless), sink, cancellation: stop.Token));
        Assert.Equal(expected.Values, CodesBatch.Concatenate(sink.Pieces).FrameRange(0, expected.Frames).Values);
    }

    /// <summary>Keeps the codes as they come; cancels once <paramref name="frames"/> of them have come.</summary>
    private sealed class CollectingSink(int frames, CancellationTokenSource stop) : GenerationSink
    {
        public List<CodesBatch> Pieces { get; } = [];

        public override void OnCodes(CodesBatch codes, int first)
        {
            Assert.Equal(Pieces.Sum(p => p.Frames), first);
            Pieces.Add(codes);
            if (first + codes.Frames >= frames) stop.Cancel();
        }

        public override void OnAudio(Engine.Audio.AudioBatch chunk) { }
    }

    [Fact]
    public void A_live_prompt_is_checked_as_a_prompt_and_replaces_prompts_and_schedule()
    {
        Assert.Equal(nameof(MusicRequest.LivePrompt), Assert.Throws<InvalidRequestException>(() =>
            (Request() with { LivePrompt = new LivePrompt("b") }).Validate()).Field);
        var empty = Assert.Throws<InvalidRequestException>(() => _pipeline.Prepare(Request() with { Prompts = [], LivePrompt = new LivePrompt(" ") }));
        Assert.Equal(nameof(MusicRequest.Prompts), empty.Field);
        var tooLong = Assert.Throws<InvalidRequestException>(() =>
            _pipeline.Prepare(Request() with { Prompts = [], LivePrompt = new LivePrompt(string.Join(' ', Enumerable.Repeat("music", 600))) }));
        Assert.Contains("tokens", tooLong.Message);
    }

    /// <summary>Runs <paramref name="change"/> once, when the codes of <paramref name="firstFrame"/> or later come.</summary>
    private sealed class ChangingSink(int firstFrame, Action change) : GenerationSink
    {
        public bool Changed { get; private set; }

        public override void OnCodes(Engine.Codec.CodesBatch codes, int first)
        {
            if (Changed || first + codes.Frames <= firstFrame) return;
            change();
            Changed = true;
        }

        public override void OnAudio(Engine.Audio.AudioBatch chunk) { }
    }

    public void Dispose()
    {
        _pipeline.Dispose();
        _backend.Dispose();
        _golden.Dispose();
    }
}
