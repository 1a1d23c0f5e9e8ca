using MusicGen.Engine;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Loaders;

/// <summary>
/// LoRA adapters merged at load: the merged weights are PEFT's formula (checked here against a plain double
/// computation; the golden cases check them against the reference), the scale and several adapters add up, and a
/// low-precision type holds exactly the conversion of the merged float32 weights.
/// </summary>
public sealed class AdapterTests : IDisposable
{
    private static readonly HubOptions Offline = new(HubOptions.DefaultEndpoint, Path.GetTempPath(), null, Offline: true);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static CheckpointFolder Open(string model, params AdapterReference[] adapters) => ModelLocator.OpenCheckpoint(model, adapters, Offline);

    [Fact]
    public void References_parse_a_scale_after_the_last_colon_only_when_it_is_a_number()
    {
        Assert.Equal(new AdapterReference("adapters/punk"), AdapterReference.Parse("adapters/punk"));
        Assert.Equal(new AdapterReference("ylacombe/musicgen-melody-punk-lora@main", 0.5), AdapterReference.Parse("ylacombe/musicgen-melody-punk-lora@main:0.5"));
        Assert.Equal(new AdapterReference(@"C:\adapters\punk", -1.5), AdapterReference.Parse(@"C:\adapters\punk:-1.5"));
        Assert.Equal(new AdapterReference(@"C:\adapters\punk"), AdapterReference.Parse(@"C:\adapters\punk"));
        Assert.Equal(new AdapterReference("odd:name"), AdapterReference.Parse("odd:name"));
        foreach (string bad in new[] { "x:NaN", "x:1e9", "x:-101", " ", "" })
            Assert.False(AdapterReference.TryParse(bad, out _), bad);
        Properties.ForAll(Properties.Ints((-100_000, 100_000)), s =>
        {
            var reference = new AdapterReference("owner/name@v1", s[0] / 1000.0);
            Assert.Equal(reference, AdapterReference.Parse(reference.ToString()));
        });
    }

    [Fact]
    public void Scaling_is_alpha_over_r_or_over_its_root_with_rslora_and_the_patterns_choose_r_and_alpha()
    {
        var plain = LoraConfig.Read(Path.Combine(AdapterFiles.Lora, LoraConfig.FileName));
        Assert.Equal((4, 8.0 / 4), plain.ScalingOf("decoder.model.decoder.layers.0.fc1"));
        // rank_pattern {"fc1": 4}, alpha_pattern {"out_proj": 4}, r 8, lora_alpha 16, use_rslora.
        var rslora = LoraConfig.Read(Path.Combine(AdapterFiles.Rslora, LoraConfig.FileName));
        Assert.Equal((4, 16 / Math.Sqrt(4)), rslora.ScalingOf("decoder.model.decoder.layers.1.fc1"));
        Assert.Equal((8, 4 / Math.Sqrt(8)), rslora.ScalingOf("decoder.model.decoder.layers.0.self_attn.out_proj"));
        Assert.Equal((8, 16 / Math.Sqrt(8)), rslora.ScalingOf("decoder.model.decoder.layers.0.self_attn.q_proj"));
        // A key matches the whole name or its end after a dot, never the middle of a name part.
        Assert.Equal(8, rslora.ScalingOf("decoder.model.decoder.layers.0.xfc1").Rank);
        Assert.True(rslora.Targets("decoder.lm_heads.3"));
        Assert.False(rslora.Targets("decoder.model.decoder.layers.0.self_attn.k_proj"));
        Assert.True(plain.Targets("text_encoder.encoder.block.0.layer.0.SelfAttention.q"));
        Assert.False(plain.Targets("text_encoder.encoder.block.0.layer.0.SelfAttention.qq"));
    }

    [Fact]
    public void Merged_weights_are_the_checkpoints_plus_the_scaled_product_of_the_factors()
    {
        const double scale = 0.5;
        using var basic = CheckpointFolder.Open(AdapterFiles.PromptModel);
        using var merged = Open(AdapterFiles.PromptModel, new AdapterReference(AdapterFiles.Lora, scale));
        var adapter = merged.Adapters.Adapters.Single();
        Assert.Contains(adapter.Layers, l => l.Kind == LoraLayerKind.Embedding);
        Assert.Contains(adapter.Layers, l => l.Kind == LoraLayerKind.Linear);
        foreach (var layer in adapter.Layers)
        {
            var weight = basic.AllWeights.Float(layer.Weight);
            float[] a = adapter.Weights.ReadFloat32(layer.A), b = adapter.Weights.ReadFloat32(layer.B);
            int rows = weight.Dim(0), columns = weight.Dim(1), rank = layer.Rank;
            var (_, scaling) = adapter.Config.ScalingOf(layer.Module);
            var actual = merged.AllWeights.Float(layer.Weight).Data;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    double product = 0;
                    for (int k = 0; k < rank; k++)
                        product += layer.Kind == LoraLayerKind.Linear
                            ? (double)b[i * rank + k] * a[k * columns + j]  // B·A: [out, r]·[r, in]
                            : (double)b[j * rank + k] * a[k * rows + i];    // (B·A)ᵀ: B [dim, r], A [r, num]
                    double expected = weight.Data[i * columns + j] + scale * scaling * product;
                    Assert.True(Math.Abs(actual[i * columns + j] - expected) <= 1e-6 * (1 + Math.Abs(expected)), $"{layer.Weight}[{i}, {j}]: {actual[i * columns + j]} vs {expected}");
                }
        }
        // modules_to_save ["decoder.model.decoder.layer_norm"]: its tensors, saved whole, replace the checkpoint's.
        Assert.Equal(["decoder.model.decoder.layer_norm.bias", "decoder.model.decoder.layer_norm.weight"], adapter.Replacements.Select(r => r.Target).Order());
        foreach (var (tensor, target) in adapter.Replacements)
            Assert.Equal(adapter.Weights.ReadFloat32(tensor), merged.AllWeights.Float(target).Data);
        Assert.Equal(basic.AllWeights.Float("decoder.model.decoder.layers.0.self_attn_layer_norm.weight").Data,
            merged.AllWeights.Float("decoder.model.decoder.layers.0.self_attn_layer_norm.weight").Data);
    }

    [Fact]
    public void Scales_and_several_adapters_add_up_and_scale_zero_changes_nothing()
    {
        const string fc1 = "decoder.model.decoder.layers.1.fc1.weight";
        using var basic = CheckpointFolder.Open(AdapterFiles.PromptModel);
        using var whole = Open(AdapterFiles.PromptModel, new AdapterReference(AdapterFiles.Lora, 0.75));
        var other = AdapterFiles.CopyOf(AdapterFiles.Lora, _temp.File("without-replacements"));
        foreach (string name in other.Tensors.Keys.Where(n => !n.Contains("lora_", StringComparison.Ordinal)).ToList()) other.Tensors.Remove(name);
        other.Save();
        using var split = Open(AdapterFiles.PromptModel, new AdapterReference(AdapterFiles.Lora, 0.5), new AdapterReference(other.Folder, 0.25));
        using var zero = Open(AdapterFiles.PromptModel, new AdapterReference(other.Folder, 0));

        var expected = whole.AllWeights.Float(fc1).Data;
        var actual = split.AllWeights.Float(fc1).Data;
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6 * (1 + Math.Abs(expected[i])));
        Assert.NotEqual(basic.AllWeights.Float(fc1).Data, expected);
        Assert.Equal(basic.AllWeights.Float(fc1).Data, zero.AllWeights.Float(fc1).Data);
        Assert.Equal(basic.AllWeights.Float("text_encoder.shared.weight").Data, zero.AllWeights.Float("text_encoder.shared.weight").Data);
    }

    [Fact]
    public void An_adapter_saved_by_transformers_without_the_PeftModel_prefix_merges_alike()
    {
        const string fc1 = "decoder.model.decoder.layers.1.fc1.weight", norm = "decoder.model.decoder.layer_norm.weight";
        var bare = AdapterFiles.CopyOf(AdapterFiles.Lora, _temp.File("bare"));
        foreach (string name in bare.Tensors.Keys.ToList())
        {
            bare.Tensors[name["base_model.model.".Length..]] = bare.Tensors[name];
            bare.Tensors.Remove(name);
        }
        bare.Save();
        using var peft = Open(AdapterFiles.PromptModel, new AdapterReference(AdapterFiles.Lora));
        using var transformers = Open(AdapterFiles.PromptModel, new AdapterReference(bare.Folder));
        Assert.Equal(peft.AllWeights.Float(fc1).Data, transformers.AllWeights.Float(fc1).Data);
        Assert.Equal(peft.AllWeights.Float(norm).Data, transformers.AllWeights.Float(norm).Data);
    }

    [Theory]
    [InlineData(WeightType.F16)]
    [InlineData(WeightType.BF16)]
    [InlineData(WeightType.Q8)]
    [InlineData(WeightType.Q4)]
    public void A_low_precision_matrix_of_an_adapted_weight_is_that_type_of_the_merged_float32_weight(WeightType type)
    {
        // musicgen-mono-f16 stores float16, which a f16 matrix otherwise takes as stored, without the merge.
        foreach (var (model, adapter) in new[] { (AdapterFiles.PromptModel, AdapterFiles.Lora), (Path.Combine(TestPaths.Golden("musicgen-mono-f16"), "model"), AdapterFiles.Rslora) })
        {
            using var basic = CheckpointFolder.Open(model);
            using var merged = Open(model, new AdapterReference(adapter));
            foreach (var layer in merged.Adapters.Adapters.Single().Layers.Where(l => l.Kind == LoraLayerKind.Linear))
            {
                var shape = merged.Weights.Entry(layer.Weight).Shape;
                var packed = merged.AllWeights.WithMatrixType(type).Matrix(layer.Weight, shape[0], shape[1]);
                Assert.Equal(PackedMatrix.Pack(type, merged.AllWeights.Float(layer.Weight).Data, shape[0], shape[1]).Data, packed.Data);
                Assert.NotEqual(basic.AllWeights.WithMatrixType(type).Matrix(layer.Weight, shape[0], shape[1]).Data, packed.Data);
            }
        }
    }

    [Fact]
    public void Q8_generation_with_an_adapter_equals_q8_generation_with_the_merged_checkpoint()
    {
        string mergedFolder = WriteMergedCheckpoint(AdapterFiles.PromptModel, new AdapterReference(AdapterFiles.Lora, 0.8));
        var request = MusicRequest.FromText("jazz piano with brushes", "techno") with { Greedy = true, Steps = 10 };
        using var backend = new CpuBackend();
        using var adapted = MusicgenPipeline.Open(AdapterFiles.PromptModel, backend, [new AdapterReference(AdapterFiles.Lora, 0.8)], weightType: WeightType.Q8);
        using var merged = MusicgenPipeline.Open(mergedFolder, backend, weightType: WeightType.Q8);
        using var basic = MusicgenPipeline.Open(AdapterFiles.PromptModel, backend, weightType: WeightType.Q8);

        var expected = merged.Generate(request);
        var actual = adapted.Generate(request);
        Assert.Equal(expected.Codes.Values, actual.Codes.Values);
        Assert.Equal(expected.Audio.Values, actual.Audio.Values);
        Assert.NotEqual(basic.Generate(request).Codes.Values, actual.Codes.Values);
        Assert.Equal([new AdapterReference(AdapterFiles.Lora, 0.8)], adapted.Adapters);
    }

    /// <summary>A copy of a checkpoint whose every stored tensor is what the engine reads with the adapters merged, in float32.</summary>
    private string WriteMergedCheckpoint(string model, params AdapterReference[] adapters)
    {
        string folder = _temp.File("merged");
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(model).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        using var checkpoint = Open(model, adapters);
        var writer = new SafetensorsWriter().AddMetadata("format", "pt");
        foreach (string name in checkpoint.Weights.Names.Order(StringComparer.Ordinal))
            writer.Add(name, checkpoint.Weights.Entry(name).Shape, checkpoint.AllWeights.Float(name).Data);
        writer.Save(Path.Combine(folder, WeightStore.SingleFileName));
        return folder;
    }
}
