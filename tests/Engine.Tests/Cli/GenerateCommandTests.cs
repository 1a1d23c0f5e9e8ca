using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class GenerateCommandTests
{
    private static string MonoModel => Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    [Fact]
    public void Writes_the_asked_length_and_a_seed_reproduces_the_bytes()
    {
        using var folder = new TempFolder();
        string a = folder.File("a.wav"), b = folder.File("b.wav"), c = folder.File("c.wav");
        var first = CliRunner.Run("generate", "lofi beat", "--model", MonoModel, "--duration", "1.5", "--seed", "11", "--out", a);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(0, CliRunner.Run("generate", "lofi beat", "--model", MonoModel, "--duration", "1.5", "--seed", "11", "--out", b).ExitCode);
        Assert.Equal(0, CliRunner.Run("generate", "lofi beat", "--model", MonoModel, "--duration", "1.5", "--seed", "12", "--out", c).ExitCode);

        var clip = WavFile.Read(a);
        Assert.Equal(32000, clip.SampleRate);
        Assert.Equal(48000, clip.Length);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
        Assert.Contains("real-time factor", first.Error);
    }

    [Fact]
    public void Several_prompts_and_unconditional_samples_give_numbered_files()
    {
        using var folder = new TempFolder();
        var run = CliRunner.Run("generate", "rock", "a much longer prompt about jazz and swing", "--model", MonoModel, "--tokens", "10", "--greedy", "--out", folder.File("x.wav"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(7 * 640, WavFile.Read(folder.File("x-1.wav")).Length);
        Assert.True(File.Exists(folder.File("x-2.wav")));

        var stereo = CliRunner.Run("generate", "--unconditional", "--samples", "2", "--model", Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"),
            "--tokens", "8", "--out", folder.File("u.wav"), "--format", "pcm16");
        Assert.True(stereo.ExitCode == 0, stereo.Error);
        Assert.Equal(2, WavFile.Read(folder.File("u-2.wav")).ChannelCount);
    }

    [Fact]
    public void Weights_of_every_type_generate_and_report_their_type()
    {
        using var folder = new TempFolder();
        foreach (string type in new[] { "f32", "bf16", "q4" })
        {
            var run = CliRunner.Run("generate", "rock", "--model", MonoModel, "--tokens", "6", "--greedy", "--weights", type, "--out", folder.File($"{type}.wav"));
            Assert.True(run.ExitCode == 0, run.Error);
            Assert.Contains($"({type} weights, ", run.Error);
            Assert.Equal(3 * 640, WavFile.Read(folder.File($"{type}.wav")).Length);
        }
    }

    [Fact]
    public void The_cache_type_is_chosen_and_reported()
    {
        using var folder = new TempFolder();
        foreach (string cache in new[] { "f32", "f16", "q8" })
        {
            var run = CliRunner.Run("generate", "rock", "--model", MonoModel, "--tokens", "6", "--greedy", "--cache", cache, "--out", folder.File($"{cache}.wav"));
            Assert.True(run.ExitCode == 0, run.Error);
            Assert.Contains($"(q8 weights, {cache} cache)", run.Error);
        }
        var unknown = CliRunner.Run("generate", "rock", "--model", MonoModel, "--tokens", "6", "--cache", "q4", "--out", folder.File("x.wav"));
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown cache type 'q4'; expected one of f32, f16, q8", unknown.Error);
    }

    [Fact]
    public void Verify_with_low_precision_weights_reports_relative_errors_and_code_agreement()
    {
        var run = CliRunner.Run("verify", TestPaths.Golden("musicgen-short"), "--weights", "q8");
        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.Contains("q8 weights", run.Output);
        Assert.Contains("teacher.logits.last", run.Output);
        Assert.Contains("(relative RMS)", run.Output);
        Assert.Contains("share differing", run.Output);
    }

    [Fact]
    public void Then_and_a_schedule_file_change_the_text_alike_and_bad_changes_name_their_option()
    {
        using var folder = new TempFolder();
        string[] longPiece = ["--model", MonoModel, "--duration", "5", "--window", "2", "--extend-stride", "1.2", "--greedy"];
        string schedule = folder.File("schedule.txt");
        File.WriteAllLines(schedule, ["# the second window on", "", "1.2 slow drums", "2.4\tfade to piano"]);
        var then = CliRunner.Run(["generate", "ambient intro", "--then", "1.2", "slow drums", "--then", "2.4", "fade to piano", .. longPiece, "--out", folder.File("then.wav")]);
        Assert.True(then.ExitCode == 0, then.Error);
        Assert.Equal(0, CliRunner.Run(["generate", "ambient intro", "--schedule", schedule, .. longPiece, "--out", folder.File("file.wav")]).ExitCode);
        Assert.Equal(0, CliRunner.Run(["generate", "ambient intro", .. longPiece, "--out", folder.File("plain.wav")]).ExitCode);
        Assert.Equal(File.ReadAllBytes(folder.File("then.wav")), File.ReadAllBytes(folder.File("file.wav")));
        Assert.NotEqual(File.ReadAllBytes(folder.File("then.wav")), File.ReadAllBytes(folder.File("plain.wav")));

        string output = folder.File("o.wav");
        void Fails(string expected, params string[] args) => AssertFails(output, expected, args);
        Fails("--then change number 2 (at 2 s) must come after the one before (at 3 s)", ["pop", "--then", "3", "a", "--then", "2", "b", .. longPiece]);
        Fails("--then x: expected a number of seconds; got 'x'", ["pop", "--then", "x", "a", .. longPiece]);
        Fails("--then's change at 4 s comes after the last window starts (3.6 s)", ["pop", "--then", "4", "a", .. longPiece]);
        Fails("--then changes the text of a long piece; give its --duration", "pop", "--then", "1", "a", "--model", MonoModel);
        File.WriteAllLines(schedule, ["1.2 drums", "soon piano"]);
        Fails($"--schedule {schedule} line 2: expected a number of seconds; got 'soon'", ["pop", "--schedule", schedule, .. longPiece]);
        File.WriteAllLines(schedule, ["9 drums"]);
        Fails("--schedule change number 1 (at 9 s) must be at 0 s or later and before the end of the piece (--duration 5 s)", ["pop", "--schedule", schedule, .. longPiece]);
    }

    /// <summary>generate with these arguments fails with one line containing expected, and writes nothing.</summary>
    private static void AssertFails(string output, string expected, string[] args)
    {
        var run = CliRunner.Run(["generate", .. args, "--out", output]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(expected, run.Error);
        Assert.DoesNotContain("   at ", run.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Bad_requests_are_clear_errors_without_output()
    {
        using var folder = new TempFolder();
        string output = folder.File("o.wav");
        void Fails(string expected, params string[] args) => AssertFails(output, expected, args);
        Fails("--duration takes a number of seconds above 0 and at most 3600 (an hour), or 0 for no end (--forever); got '3601'", "pop", "--model", MonoModel, "--duration", "3601");
        Fails("at most 30 s (1503 steps)", "pop", "--model", MonoModel, "--tokens", "2000");
        Fails("--extend-stride 20 s must be more than 0 and less than the window (10 s)", "pop", "--model", MonoModel, "--duration", "60", "--window", "10", "--extend-stride", "20");
        Fails("--window takes a number of seconds above 0 and at most 30; got '40'", "pop", "--model", MonoModel, "--duration", "60", "--window", "40");
        Fails("give a prompt", "--model", MonoModel, "--duration", "1");
        Fails("unknown weight type 'q3'; expected one of f32, f16, bf16, q8, q4", "pop", "--model", MonoModel, "--weights", "q3");
        Fails("--unconditional takes no prompt", "pop", "--unconditional", "--model", MonoModel);
        Fails("not both", "pop", "--model", MonoModel, "--duration", "1", "--tokens", "9");
        Fails("--tokens takes a whole number of steps from 1 to 100000; got '0'", "pop", "--model", MonoModel, "--tokens", "0");
        Fails("top-p", "pop", "--model", MonoModel, "--tokens", "5", "--top-p", "1.5");
        Fails("the text encoder takes at most 512", string.Join(' ', Enumerable.Repeat("drums", 600)), "--model", MonoModel, "--tokens", "5");
        Fails("standalone EnCodec", "pop", "--model", Path.Combine(TestPaths.Golden("encodec-32khz"), "model"), "--tokens", "5");
    }

    private static string Tone(TempFolder folder, string name, double seconds, int rate = 32000, int channels = 1, float amplitude = 0.3f)
    {
        var samples = Enumerable.Range(0, (int)(seconds * rate)).Select(i => amplitude * MathF.Sin(2 * MathF.PI * 330 * i / rate)).ToArray();
        string path = folder.File(name);
        WavFile.Write(path, new AudioClip(rate, Enumerable.Range(0, channels).Select(_ => samples.ToArray()).ToArray()), SampleFormat.Float32);
        return path;
    }

    [Fact]
    public void Continuation_starts_with_the_prompt_and_cuts_the_padding_of_shorter_ones()
    {
        using var folder = new TempFolder();
        string longer = Tone(folder, "long.wav", 1.0, rate: 44100), shorter = Tone(folder, "short.wav", 0.5);
        var run = CliRunner.Run("generate", "jazz", "rock", "--model", MonoModel, "--continue", longer, "--continue", shorter,
            "--duration", "2", "--seed", "3", "--out", folder.File("c.wav"));
        Assert.True(run.ExitCode == 0, run.Error);
        // Both prompts are 1 s once the shorter one is left-padded; the padding is cut from its output again.
        Assert.Equal(64000, WavFile.Read(folder.File("c-1.wav")).Length);
        Assert.Equal(64000 - 16000, WavFile.Read(folder.File("c-2.wav")).Length);

        var stereo = CliRunner.Run("generate", "ambient", "--model", Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"),
            "--continue", shorter, "--tokens", "10", "--out", folder.File("s.wav"));
        Assert.True(stereo.ExitCode == 0, stereo.Error);
        var clip = WavFile.Read(folder.File("s.wav"));
        Assert.Equal(2, clip.ChannelCount);
        Assert.Equal((25 + 10 + 1 - 4) * 640, clip.Length);
    }

    [Fact]
    public void A_melody_model_follows_a_tune()
    {
        using var folder = new TempFolder();
        string melodyModel = Path.Combine(TestPaths.Golden("musicgen-melody"), "model");
        var run = CliRunner.Run("generate", "reggae", "metal", "--model", melodyModel, "--melody", Tone(folder, "tune.wav", 1.5, rate: 22050, channels: 2),
            "--duration", "1", "--greedy", "--out", folder.File("m.wav"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(32000, WavFile.Read(folder.File("m-2.wav")).Length);
    }

    [Fact]
    public void Bad_audio_inputs_are_clear_errors()
    {
        using var folder = new TempFolder();
        string output = folder.File("o.wav"), melodyModel = Path.Combine(TestPaths.Golden("musicgen-melody"), "model");
        void Fails(string expected, params string[] args) => AssertFails(output, expected, args);
        Fails("at most 30 s", "x", "--model", MonoModel, "--continue", Tone(folder, "long.wav", 31), "--tokens", "10");
        Fails("shorter than one codec frame", "x", "--model", MonoModel, "--continue", Tone(folder, "one.wav", 1.0 / 32000), "--tokens", "10");
        Fails("leaves nothing to generate", "x", "--model", MonoModel, "--continue", Tone(folder, "second.wav", 1), "--duration", "0.5");
        Fails("one per piece", "x", "y", "z", "--model", MonoModel, "--continue", folder.File("second.wav"), "--continue", folder.File("second.wav"), "--tokens", "9");
        Fails("not available for melody checkpoints", "x", "--model", melodyModel, "--continue", folder.File("second.wav"), "--tokens", "9");
        Fails("needs a melody checkpoint", "x", "--model", MonoModel, "--melody", folder.File("second.wav"), "--tokens", "9");
        Fails("silent", "x", "--model", melodyModel, "--melody", Tone(folder, "silence.wav", 1, amplitude: 0), "--tokens", "9");
        Fails("too short for one chroma frame", "x", "--model", melodyModel, "--melody", folder.File("one.wav"), "--tokens", "9");
        Fails("at most 30 s", "x", "--model", melodyModel, "--melody", folder.File("long.wav"), "--tokens", "9");
        Fails("file not found", "x", "--model", melodyModel, "--melody", folder.File("absent.mp3"), "--tokens", "9");
        File.WriteAllBytes(folder.File("garbage.wav"), new byte[100]);
        Fails("garbage.wav", "x", "--model", MonoModel, "--continue", folder.File("garbage.wav"), "--tokens", "9");
    }
}
