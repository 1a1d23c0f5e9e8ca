using MusicGen.Engine.Backends.Cpu;
using MusicGen.Verification;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Loaders;

public class CheckpointTests
{
    private static string CodecModel => Path.Combine(TestPaths.Golden("encodec-32khz"), "model");

    [Fact]
    public void Opens_musicgen_and_codec_checkpoints_with_their_configs()
    {
        using var musicgen = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-mono"), "model"));
        Assert.Equal(CheckpointKind.Musicgen, musicgen.Kind);
        var config = musicgen.RequireMusicgen();
        Assert.Equal(4, config.Decoder.NumCodebooks);
        Assert.Equal(32, config.TextEncoder.DModel);
        Assert.True(config.HasEncoderProjection);
        Assert.Equal(4, musicgen.Codec.NumQuantizers);
        Assert.Equal(250, musicgen.Generation.TopK);
        Assert.True(musicgen.CodecWeights.Contains("encoder.layers.0.conv.weight"));

        using var melody = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-melody"), "model"));
        Assert.Equal(CheckpointKind.MusicgenMelody, melody.Kind);
        Assert.Equal(235, melody.RequireMusicgen().ChromaLength);

        using var codec = CheckpointFolder.Open(CodecModel);
        Assert.Equal(CheckpointKind.Encodec, codec.Kind);
        Assert.Equal(640, codec.Codec.HopLength);
        Assert.Equal(50, codec.Codec.FrameRate);
        Assert.Contains("standalone EnCodec", Assert.Throws<MusicGenException>(() => codec.RequireMusicgen()).Message);
    }

    [Fact]
    public void Missing_required_config_fields_are_named_together_and_unknown_fields_ignored()
    {
        using var folder = new TempFolder();
        CheckpointVariants.Write(CodecModel, folder.Path);
        string configPath = Path.Combine(folder.Path, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json.Remove("sampling_rate");
        json.Remove("codebook_size");
        json["some_future_field"] = 42;
        File.WriteAllText(configPath, json.ToJsonString());
        var error = Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path));
        Assert.Contains("sampling_rate", error.Message);
        Assert.Contains("codebook_size", error.Message);

        json["sampling_rate"] = 32000;
        json["codebook_size"] = 2048;
        json["num_filters"] = "many";
        File.WriteAllText(configPath, json.ToJsonString());
        Assert.Contains("'num_filters' is \"many\", expected an integer", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path)).Message);
    }

    [Fact]
    public void Bad_folders_are_clear_errors()
    {
        using var folder = new TempFolder();
        Assert.Contains("not found", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.File("nope"))).Message);
        Assert.Contains("no config.json", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path)).Message);
        File.WriteAllText(folder.File("config.json"), "{\"model_type\": \"bert\"}");
        Assert.Contains("'bert' is not supported", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path)).Message);
        File.Copy(Path.Combine(CodecModel, "config.json"), folder.File("config.json"), overwrite: true);
        File.WriteAllText(folder.File("pytorch_model.bin"), "");
        Assert.Contains(".bin weights are not supported", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path)).Message);
    }

    [Fact]
    public void Missing_and_misshapen_tensors_name_the_tensor_and_the_shapes()
    {
        using var checkpoint = CheckpointFolder.Open(CodecModel);
        var weights = checkpoint.CodecWeights;
        var missing = Assert.Throws<MusicGenException>(() => weights.Float("encoder.layers.99.conv.weight"));
        Assert.Contains("'encoder.layers.99.conv.weight'", missing.Message);
        var misshapen = Assert.Throws<MusicGenException>(() => weights.Float("encoder.layers.0.conv.bias", 5));
        Assert.Contains("[4]", misshapen.Message);
        Assert.Contains("expected [5]", misshapen.Message);
    }

    [Fact]
    public void Weight_norm_folds_over_every_dimension_but_the_first()
    {
        // Conv1d weight [out=2, in=1, k=2] and ConvTranspose1d weight [in=2, out=1, k=2] store g with the size
        // of dimension 0 either way; the norm therefore runs over output channels for one and input for the other.
        var v = new HostTensor("v", [2, 1, 2], [3f, 4f, 6f, 8f]);
        var g = new HostTensor("g", [2, 1, 1], [10f, 1f]);
        Assert.Equal(new[] { 6f, 8f, 0.6f, 0.8f }, WeightNorm.Fold(g, v));
        var whole = new HostTensor("g", [1, 1, 1], [5f]);
        var single = new HostTensor("v", [1, 2, 2], [1f, 1f, 1f, 1f]);
        Assert.Equal(new[] { 2.5f, 2.5f, 2.5f, 2.5f }, WeightNorm.Fold(whole, single));
        Assert.Throws<MusicGenException>(() => WeightNorm.Fold(new HostTensor("g", [3, 1, 1], new float[3]), v));
    }

    [Fact]
    public void Weight_norm_along_any_one_dimension_scales_each_slice_by_its_own_norm()
    {
        Properties.ForAll(Properties.Ints((1, 4), (1, 4), (1, 5), (0, 2), (0, 1000)), s =>
        {
            int[] shape = [s[0], s[1], s[2]];
            int axis = s[3], seed = s[4], n = shape[0] * shape[1] * shape[2];
            var v = RandomData.Uniform(seed, n);
            var gShape = shape.Select((d, i) => i == axis ? d : 1).ToArray();
            var g = RandomData.Uniform(seed + 1, shape[axis]);
            int Slice(int flat) => axis switch { 0 => flat / (shape[1] * shape[2]), 1 => flat / shape[2] % shape[1], _ => flat % shape[2] };
            var norms = new double[shape[axis]];
            for (int i = 0; i < n; i++) norms[Slice(i)] += (double)v[i] * v[i];
            var expected = v.Select((x, i) => (float)(x * g[Slice(i)] / Math.Sqrt(norms[Slice(i)]))).ToArray();
            RandomData.AssertClose(expected, WeightNorm.Fold(new HostTensor("g", gShape, g), new HostTensor("v", shape, v)), 1e-6, $"axis {axis} of [{string.Join(", ", shape)}]");
        });
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(1, true)]
    [InlineData(4, true)]
    public void Sharded_and_parametrized_checkpoints_give_the_same_codec(int shards, bool parametrized)
    {
        using var folder = new TempFolder();
        string caseFolder = Path.Combine(folder.Path, "case");
        Directory.CreateDirectory(caseFolder);
        foreach (string file in new[] { "case.json", "expected.safetensors" })
            File.Copy(Path.Combine(TestPaths.Golden("encodec-32khz"), file), Path.Combine(caseFolder, file));
        CheckpointVariants.Write(CodecModel, Path.Combine(caseFolder, "model"), shards, parametrizedWeightNorm: parametrized);
        using var backend = new CpuBackend();
        var report = new Verifier(backend).Run(caseFolder);
        Assert.True(report.Succeeded, string.Join("\n", report.Rows.Where(r => !r.Passed)));
    }

    [Fact]
    public void Float16_and_bfloat16_checkpoints_load_as_float32()
    {
        using var folder = new TempFolder();
        CheckpointVariants.Write(CodecModel, folder.File("f16"), shards: 2, storage: CheckpointVariants.Storage.Float16);
        CheckpointVariants.Write(CodecModel, folder.File("bf16"), storage: CheckpointVariants.Storage.BFloat16);
        using var original = CheckpointFolder.Open(CodecModel);
        using var half = CheckpointFolder.Open(folder.File("f16"));
        using var brain = CheckpointFolder.Open(folder.File("bf16"));
        const string name = "quantizer.layers.0.codebook.embed";
        var reference = original.CodecWeights.Float(name).Data;
        var fromHalf = half.CodecWeights.Float(name).Data;
        var fromBrain = brain.CodecWeights.Float(name).Data;
        for (int i = 0; i < reference.Length; i++)
        {
            Assert.Equal((float)(Half)reference[i], fromHalf[i]);
            Assert.Equal(reference[i], fromBrain[i], Math.Abs(reference[i]) / 128);
        }
    }

    [Fact]
    public void Shard_index_problems_are_reported()
    {
        using var folder = new TempFolder();
        CheckpointVariants.Write(CodecModel, folder.Path, shards: 2);
        string index = folder.File("model.safetensors.index.json");
        string text = File.ReadAllText(index);

        File.WriteAllText(index, text.Replace("model-00002-of-00002", "model-00003-of-00002"));
        Assert.Contains("does not exist", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path)).Message);

        File.WriteAllText(index, text.Replace("\"weight_map\":{", "\"weight_map\":{\"ghost.weight\":\"model-00001-of-00002.safetensors\","));
        Assert.Contains("'ghost.weight'", Assert.Throws<MusicGenException>(() => CheckpointFolder.Open(folder.Path)).Message);

        File.WriteAllText(index, text);
        using var checkpoint = CheckpointFolder.Open(folder.Path);
        Assert.Contains("none of the 2 shards", Assert.Throws<MusicGenException>(() => checkpoint.CodecWeights.Float("absent.weight")).Message);
    }
}
