using MusicGen.Engine;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Loaders;

/// <summary>
/// Checkpoints written by <c>musicgen quantize</c>: they hold the very bytes loading would pack, so a model loaded
/// from one generates exactly what the original gives quantized at load; their files are in the Hub layout with
/// the type and block format in the metadata; packed blocks load only as their own type.
/// </summary>
public sealed class QuantizedCheckpointTests : IDisposable
{
    private static readonly string MonoModel = Path.Combine(TestPaths.Golden("musicgen-mono"), "model");
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Quantized(string model, WeightType type)
    {
        string output = _temp.File($"{Path.GetFileName(Path.GetDirectoryName(model))}-{type.Name()}");
        using var checkpoint = CheckpointFolder.Open(model);
        CheckpointQuantizer.Quantize(checkpoint, type, output);
        return output;
    }

    [Theory]
    [InlineData("musicgen-mono", WeightType.Q8)]
    [InlineData("musicgen-mono", WeightType.Q4)]
    [InlineData("musicgen-mono", WeightType.F16)]
    [InlineData("musicgen-melody", WeightType.BF16)]
    [InlineData("musicgen-variant", WeightType.Q8)]
    public void A_quantized_checkpoint_generates_exactly_what_quantizing_at_load_gives(string caseName, WeightType type)
    {
        string original = Path.Combine(TestPaths.Golden(caseName), "model");
        string quantized = Quantized(original, type);
        using var backend = new CpuBackend();
        var request = MusicRequest.FromText("lofi beat", "rock") with { Steps = 12, Seed = 3 };
        using var fromOriginal = MusicgenPipeline.Open(original, backend, weightType: type);
        using var fromQuantized = MusicgenPipeline.Open(quantized, backend, weightType: type);
        var expected = fromOriginal.Generate(request);
        var actual = fromQuantized.Generate(request);
        Assert.Equal(expected.Codes.Values, actual.Codes.Values);
        Assert.Equal(expected.Audio.Values, actual.Audio.Values);
    }

    [Fact]
    public void The_folder_has_the_hub_layout_with_the_matrices_packed_and_the_rest_as_stored()
    {
        string quantized = Quantized(MonoModel, WeightType.Q4);
        foreach (string file in new[] { "config.json", "generation_config.json", "spiece.model", "tokenizer_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(MonoModel, file)), File.ReadAllBytes(Path.Combine(quantized, file)));
        using var original = WeightStore.Open(MonoModel);
        using var store = WeightStore.Open(quantized);
        Assert.Equal(WeightType.Q4, store.QuantizedType);
        var metadata = store.Files.Single().Metadata;
        Assert.Equal("q4", metadata[QuantizedCheckpoint.TypeKey]);
        Assert.Equal(QuantizedCheckpoint.BlockFormat, metadata[QuantizedCheckpoint.FormatKey]);
        const string fc1 = "decoder.model.decoder.layers.0.fc1.weight";
        var entry = original.Entry(fc1);
        Assert.Equal(SafetensorsDType.U8, store.Entry(fc1).DType);
        Assert.Equal([entry.Shape[0], entry.Shape[1] / 2], store.Entry(fc1).Shape);
        Assert.Equal([entry.Shape[0], entry.Shape[1] / PackedMatrix.BlockSize], store.Entry(QuantizedCheckpoint.ScalesName(fc1)).Shape);
        // The codec, embeddings and norms are copied as they are stored.
        foreach (string name in new[] { "audio_encoder.decoder.layers.1.lstm.weight_hh_l0", "decoder.model.decoder.embed_tokens.0.weight", "text_encoder.shared.weight" })
            Assert.Equal(original.FileOf(name).Bytes(original.Entry(name)), store.FileOf(name).Bytes(store.Entry(name)));
    }

    [Theory]
    [InlineData(WeightType.F32)]
    [InlineData(WeightType.Q4)]
    [InlineData(WeightType.F16)]
    public void Packed_blocks_asked_for_in_another_type_are_refused_naming_their_own(WeightType other)
    {
        string quantized = Quantized(MonoModel, WeightType.Q8);
        using var backend = new CpuBackend();
        var error = Assert.Throws<CheckpointException>(() => MusicgenPipeline.Open(quantized, backend, weightType: other));
        Assert.Contains("--weights q8", error.Message);
        Assert.Contains($"not {other.Name()}", error.Message);
    }

    [Fact]
    public void Quantize_refuses_what_it_cannot_write_before_loading_anything()
    {
        using var checkpoint = CheckpointFolder.Open(MonoModel);
        string existing = _temp.File("existing");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "keep.txt"), "mine");
        Assert.Contains("new or empty folder", Assert.Throws<MusicGenException>(() => CheckpointQuantizer.Quantize(checkpoint, WeightType.Q8, existing)).Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(existing, "keep.txt")));
        Assert.Contains("not f32", Assert.Throws<MusicGenException>(() => CheckpointQuantizer.Quantize(checkpoint, WeightType.F32, _temp.File("f32"))).Message);
        Assert.Contains("does not exist", Assert.Throws<MusicGenException>(() => CheckpointQuantizer.Quantize(checkpoint, WeightType.Q8, _temp.File("a/b"))).Message);
        using var codec = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("encodec-32khz"), "model"));
        Assert.Throws<CheckpointException>(() => CheckpointQuantizer.Quantize(codec, WeightType.Q8, _temp.File("codec")));
        Assert.False(Directory.Exists(_temp.File("codec")));
    }

    [Fact]
    public void Defects_of_the_blocks_are_named()
    {
        string quantized = Quantized(MonoModel, WeightType.Q8);
        string weights = Path.Combine(quantized, WeightStore.SingleFileName);
        using var backend = new CpuBackend();
        const string fc1 = "decoder.model.decoder.layers.0.fc1.weight";
        string Load(Action<SafetensorsWriter, WeightStore> rewrite, IReadOnlyDictionary<string, string>? metadata = null)
        {
            string copy = _temp.File($"defect-{Guid.NewGuid():N}");
            Directory.CreateDirectory(copy);
            foreach (string file in Directory.EnumerateFiles(quantized).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            using (var store = WeightStore.Open(quantized))
            {
                var writer = new SafetensorsWriter();
                foreach (var (key, value) in metadata ?? store.Files[0].Metadata) writer.AddMetadata(key, value);
                rewrite(writer, store);
                writer.Save(Path.Combine(copy, WeightStore.SingleFileName));
            }
            return Assert.ThrowsAny<MusicGenException>(() =>
            {
                using var checkpoint = CheckpointFolder.Open(copy);
                MusicgenModels.Load(backend, checkpoint, WeightType.Q8).Dispose();
            }).Message;
        }
        void CopyAll(SafetensorsWriter writer, WeightStore store, Func<string, bool> keep)
        {
            foreach (string name in store.Names.Where(keep))
                writer.Add(name, store.Entry(name).DType, store.Entry(name).Shape, store.FileOf(name).Bytes(store.Entry(name)));
        }

        Assert.Contains($"'{fc1}.scales' is missing", Load((w, s) => CopyAll(w, s, n => n != QuantizedCheckpoint.ScalesName(fc1))));
        Assert.Contains("expected F32 [128, 2]", Load((w, s) =>
        {
            CopyAll(w, s, n => n != QuantizedCheckpoint.ScalesName(fc1));
            w.Add(QuantizedCheckpoint.ScalesName(fc1), [128, 3], new float[128 * 3]);
        }));
        Assert.Contains("expected I8 [128, 64]", Load((w, s) =>
        {
            CopyAll(w, s, n => n != fc1);
            w.Add(fc1, SafetensorsDType.U8, [128, 32], new byte[128 * 32]);
        }));
        var plainMetadata = new Dictionary<string, string> { [QuantizedCheckpoint.TypeKey] = "q3", [QuantizedCheckpoint.FormatKey] = QuantizedCheckpoint.BlockFormat };
        Assert.Contains("'q3'", Load((w, s) => CopyAll(w, s, _ => true), plainMetadata));
        Assert.Contains("block format", Load((w, s) => CopyAll(w, s, _ => true), new Dictionary<string, string> { [QuantizedCheckpoint.TypeKey] = "q8" }));
        Assert.Contains("not quantized to q8 or q4", Load((w, s) => CopyAll(w, s, _ => true),
            new Dictionary<string, string> { [QuantizedCheckpoint.TypeKey] = "f16", [QuantizedCheckpoint.FormatKey] = QuantizedCheckpoint.BlockFormat }));
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..^1000]);
        Assert.Contains("truncated", Assert.ThrowsAny<MusicGenException>(() => CheckpointFolder.Open(quantized)).Message);
    }
}
