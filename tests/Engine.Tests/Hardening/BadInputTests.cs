using System.Text;
using MusicGen.Engine.Audio;
using MusicGen.Verification;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hardening;

/// <summary>The classes of bad input found by fuzzing and by trying the tools as a new user, one case each.</summary>
[Collection("Console")]
public sealed class BadInputTests : IDisposable
{
    private static readonly string MonoModel = Path.Combine(TestPaths.Golden("musicgen-mono"), "model");
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Outputs_of_a_group_appear_together_on_commit_and_not_at_all_without_it()
    {
        string a = _temp.File("a.wav"), b = _temp.File("b.wav");
        using (AtomicFile.BeginGroup())
        {
            AtomicFile.Write(a, stream => stream.WriteByte(1));
            AtomicFile.Write(b, stream => stream.WriteByte(2));
            Assert.False(File.Exists(a));
        }
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));

        using (var group = AtomicFile.BeginGroup())
        {
            AtomicFile.Write(a, stream => stream.WriteByte(1));
            AtomicFile.Write(b, stream => stream.WriteByte(2));
            group.Commit();
        }
        Assert.Equal(["a.wav", "b.wav"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../model.safetensors")]
    [InlineData("sub/model.safetensors")]
    [InlineData("")]
    [InlineData("..")]
    public void An_index_naming_a_shard_outside_the_folder_is_refused_without_opening_it(string shard)
    {
        new SafetensorsWriter().Add("w", [1], [1f]).Save(_temp.File("model.safetensors"));
        File.WriteAllText(_temp.File(WeightStore.IndexFileName), $$$"""{"weight_map": {"w": "{{{shard}}}"}}""");

        var error = Assert.Throws<MusicGenException>(() => WeightStore.Open(_temp.Path));

        Assert.Contains("which is not a file name in the checkpoint folder", error.Message);
        Assert.DoesNotContain("root:", error.Message);
    }

    [Theory]
    [InlineData("\"num_attention_heads\": 4", "\"num_attention_heads\": 0", "num_attention_heads")]
    [InlineData("\"num_hidden_layers\": 2", "\"num_hidden_layers\": -3", "num_hidden_layers")]
    [InlineData("\"max_position_embeddings\": 2048", "\"max_position_embeddings\": 2000000000", "max_position_embeddings")]
    [InlineData("\"compress\": 2", "\"compress\": 0", "compress")]
    [InlineData("\"upsampling_ratios\": [", "\"upsampling_ratios\": [64, 64, 64, 64, 64, ", "hop")]
    [InlineData("\"num_codebooks\": 4", "\"num_codebooks\": 1e30", "num_codebooks")]
    public void Absurd_config_sizes_are_refused_naming_the_field(string field, string replacement, string named)
    {
        string config = File.ReadAllText(Path.Combine(MonoModel, "config.json"));
        Assert.Contains(field, config);
        string folder = _temp.File("model");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.Replace(field, replacement));
        File.CreateSymbolicLink(Path.Combine(folder, "model.safetensors"), Path.Combine(MonoModel, "model.safetensors"));

        var error = Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder));

        Assert.Contains(named, error.Message);
    }

    [Theory]
    [InlineData("[2147483647, 2147483647, 2147483647]", "more elements than any file can hold")]
    [InlineData("[4611686018427387904]", "not a list of non-negative integers")]
    public void Tensor_shapes_that_overflow_are_refused(string shape, string expected)
    {
        byte[] header = Encoding.UTF8.GetBytes($$$"""{"w": {"dtype": "F32", "shape": {{{shape}}}, "data_offsets": [0, 0]}}""");
        File.WriteAllBytes(_temp.File("w.safetensors"), [.. BitConverter.GetBytes((ulong)header.Length), .. header]);

        var error = Assert.Throws<MusicGenException>(() => SafetensorsFile.Open(_temp.File("w.safetensors")));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x20, 0x31, 0x7D }, "not valid UTF-8")]
    [InlineData(new byte[] { 0x5B, 0x31, 0x5D }, "expected a JSON object")]
    [InlineData(new byte[] { 0x22, 0x78, 0x22 }, "expected a JSON object")]
    public void Json_that_is_not_utf8_or_not_an_object_is_refused(byte[] json, string expected)
    {
        File.WriteAllBytes(_temp.File("config.json"), json);
        File.WriteAllBytes(_temp.File(WeightStore.IndexFileName), json);

        Assert.Contains(expected, Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(_temp.Path)).Message);
        Assert.Contains(expected, Assert.Throws<MusicGenException>(() => WeightStore.Open(_temp.Path)).Message);
    }

    [Fact]
    public void Names_with_huge_numbers_sort_naturally()
    {
        string[] names = ["layers.100000000000000000000000.x", "layers.10.x", "layers.2.x", "layers.02.x", "layers.9223372036854775808.x"];

        Assert.Equal(["layers.02.x", "layers.2.x", "layers.10.x", "layers.9223372036854775808.x", "layers.100000000000000000000000.x"],
            names.Order(NaturalOrder.Instance));
    }

    [Fact]
    public void Audio_holding_NaN_is_refused_naming_the_file()
    {
        var samples = new byte[16];
        BitConverter.TryWriteBytes(samples.AsSpan(8), float.NaN);
        File.WriteAllBytes(_temp.File("nan.wav"), new Audio.WavBuilder().Fmt(3, 1, 32000, 32).Data(samples).ToArray());

        var run = CliRunner.Run("encode", _temp.File("nan.wav"), "--model", MonoModel, "--out", _temp.File("codes.safetensors"));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"error: {_temp.File("nan.wav")}: the audio holds a non-finite value (NaN at position 2", run.Error);
        Assert.False(File.Exists(_temp.File("codes.safetensors")));
    }

    [Fact]
    public void Verify_on_expected_outputs_with_bytes_inserted_between_tensors_names_the_file()
    {
        // The fuzz finding: the shifted bytes read as token ids beyond int32 and ended in an OverflowException.
        string copy = CopyOfCase("musicgen-short");
        string expected = Path.Combine(copy, "expected.safetensors");
        var bytes = File.ReadAllBytes(expected);
        int dataStart = 8 + (int)BitConverter.ToUInt64(bytes);
        File.WriteAllBytes(expected, [.. bytes[..(dataStart + 50)], 0xFF, 0x13, 0x77, .. bytes[(dataStart + 50)..]]);

        var run = CliRunner.Run("verify", copy);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {expected}: the data section holds 3 byte(s) after the last tensor; the file is corrupt", run.Error.Trim());
    }

    [Fact]
    public void Verify_on_expected_outputs_with_a_token_id_beyond_int32_names_the_tensor()
    {
        string copy = CopyOfCase("musicgen-short");
        string expected = Path.Combine(copy, "expected.safetensors");
        long offset;
        using (var file = SafetensorsFile.Open(expected))
            offset = new FileInfo(expected).Length - file.Tensors.Values.Sum(t => t.ByteCount) + file.Entry("input_ids").Begin;
        var bytes = File.ReadAllBytes(expected);
        bytes[offset + 5] = 0x7F; // the first id's high bytes: 2^46 and more
        File.WriteAllBytes(expected, bytes);

        var run = CliRunner.Run("verify", copy);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"error: {expected}: tensor 'input_ids' holds ", run.Error);
        Assert.Contains("at element 0, outside [-2147483648, 2147483647]; the file is corrupt", run.Error);
    }

    private string CopyOfCase(string name)
    {
        string source = TestPaths.Golden(name), copy = _temp.File(name);
        Directory.CreateDirectory(Path.Combine(copy, "model"));
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(copy, Path.GetRelativePath(source, file)));
        return copy;
    }

    [SkippableFact]
    public void An_output_named_by_a_symbolic_link_is_written_through_the_link()
    {
        Directory.CreateDirectory(_temp.File("links"));
        Directory.CreateDirectory(_temp.File("files"));
        File.WriteAllText(_temp.File("files/old.safetensors"), "replaced by the write");
        SymbolicLinks.Create(_temp.File("links/codes.safetensors"), "../files/old.safetensors");
        SymbolicLinks.Create(_temp.File("links/dangling.safetensors"), "../files/new.safetensors");
        File.WriteAllBytes(_temp.File("in.wav"), new Audio.WavBuilder().Fmt(1, 1, 32000, 16).Data(new byte[6400]).ToArray());

        foreach (string link in new[] { "links/codes.safetensors", "links/dangling.safetensors" })
        {
            var run = CliRunner.Run("encode", _temp.File("in.wav"), "--model", MonoModel, "--out", _temp.File(link));
            Assert.True(run.ExitCode == 0, run.Error);
        }

        // The links stay links, as after a shell's or ffmpeg's write; their targets hold the codes; nothing else is left.
        Assert.Equal("../files/old.safetensors", new FileInfo(_temp.File("links/codes.safetensors")).LinkTarget);
        Assert.Equal("../files/new.safetensors", new FileInfo(_temp.File("links/dangling.safetensors")).LinkTarget);
        foreach (string target in new[] { "files/old.safetensors", "files/new.safetensors" })
        {
            using var codes = SafetensorsFile.Open(_temp.File(target));
            Assert.NotEmpty(codes.Tensors);
        }
        Assert.Equal(["codes.safetensors", "dangling.safetensors"], Directory.GetFileSystemEntries(_temp.File("links")).Select(Path.GetFileName).Order());
        Assert.Equal(["new.safetensors", "old.safetensors"], Directory.GetFileSystemEntries(_temp.File("files")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_checkpoint_with_a_NaN_weight_is_an_error_naming_the_stage_not_a_file_of_NaNs()
    {
        string folder = _temp.File("poisoned");
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(MonoModel).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        using (var source = SafetensorsFile.Open(Path.Combine(MonoModel, "model.safetensors")))
        {
            var writer = new SafetensorsWriter();
            foreach (string name in source.Tensors.Keys)
            {
                var values = source.ReadFloat32(name);
                if (name == "decoder.model.decoder.layer_norm.bias") values[0] = float.NaN;
                writer.Add(name, source.Entry(name).Shape, values);
            }
            writer.Save(Path.Combine(folder, "model.safetensors"));
        }

        var run = CliRunner.Run("generate", "pop", "--model", folder, "--tokens", "5", "--out", _temp.File("nan.wav"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error: the decoder's logits", run.Error);
        Assert.False(File.Exists(_temp.File("nan.wav")));
    }

    [Theory]
    [InlineData("unknown option '--duraton' for generate (did you mean --duration?)", "generate", "x", "--duraton", "2")]
    [InlineData("--duration takes a number of seconds above 0 and at most 3600 (an hour), or 0 for no end (--forever); got 'abc'", "generate", "x", "--duration", "abc")]
    [InlineData("--duration takes a number of seconds above 0 and at most 3600 (an hour), or 0 for no end (--forever); got 'Infinity'", "generate", "x", "--duration", "Infinity")]
    [InlineData("--format takes one of Float32, Pcm16, Pcm24; got 'Bogus'", "generate", "x", "--format", "Bogus")]
    [InlineData("--seed takes a whole number from 0 to 18446744073709551615; got '-1'", "generate", "x", "--seed", "-1")]
    [InlineData("--samples takes a whole number from 1 to 64; got '2147483647'", "generate", "--unconditional", "--samples", "2147483647")]
    [InlineData("--samples goes with --unconditional", "generate", "x", "--samples", "2")]
    [InlineData("a prompt is empty", "generate", " ")]
    [InlineData("--out takes an audio file name (.wav, .flac, .opus, .ogg, .mp3, .aac, .m4a), or - for standard output; got 'song.mid'", "generate", "x", "--out", "song.mid")]
    [InlineData("--out takes an audio file name (.wav, .flac, .opus, .ogg, .mp3, .aac, .m4a), or - for standard output; got ''", "generate", "x", "--out", "")]
    [InlineData("--out-format takes wav, flac, opus, mp3 or aac; got 'm4a'", "generate", "x", "--out", "-", "--out-format", "m4a")]
    [InlineData("--top-k needs a value: a whole number", "generate", "x", "--top-k")]
    [InlineData("unknown option '--bogus' for encode", "encode", "a.wav", "--bogus", "--out", "x.safetensors")]
    [InlineData("unexpected argument 'extra' for info", "info", "extra")]
    [InlineData("unknown command 'compose'; the commands are generate, encode", "compose")]
    [InlineData("generate needs --out", "generate", "x")]
    public void Command_line_mistakes_are_one_line_naming_the_option_and_what_it_takes(string expected, params string[] args)
    {
        var run = CliRunner.Run([args[0], "--model", "no/such-model", .. args[1..]]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {expected}", run.Error.TrimEnd()[..Math.Min(run.Error.TrimEnd().Length, expected.Length + 7)]);
        Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(run.Output);
    }

    [Fact]
    public void Bench_refuses_a_checkpoint_folder_that_is_a_file_before_any_work()
    {
        string file = _temp.File("not-a-folder");
        File.WriteAllText(file, "kept");

        var run = CliRunner.Run("bench", "--checkpoint", file, "--steps", "1", "--piece", "0");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: --checkpoint {file} is a file; it takes a folder (reused when it holds a random checkpoint, written otherwise)", run.Error.TrimEnd());
        Assert.Empty(run.Output);
        Assert.Equal("kept", File.ReadAllText(file));
    }

    [Fact]
    public void Control_characters_of_echoed_input_are_escaped()
    {
        var run = CliRunner.Run("info", "--model", "no\u001b[2Jsuch\nmodel");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no\\x1b[2Jsuch\\x0amodel", run.Error);
        Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Response_files_are_not_expanded_and_a_prompt_may_start_with_a_dash_after_double_dash()
    {
        var at = CliRunner.Run("generate", "@/dev/zero", "--model", "no/such", "--out", _temp.File("x.wav"));
        Assert.Equal(1, at.ExitCode);
        Assert.StartsWith("error: no/such", at.Error);

        var dash = CliRunner.Run("generate", "--model", MonoModel, "--tokens", "4", "--out", _temp.File("dash.wav"), "--", "-lofi-");
        Assert.True(dash.ExitCode == 0, dash.Error);
        Assert.True(File.Exists(_temp.File("dash.wav")));
    }
}
