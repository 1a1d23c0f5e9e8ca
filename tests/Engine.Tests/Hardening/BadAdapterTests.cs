using System.Text.Json.Nodes;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Hub;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hardening;

/// <summary>
/// Every way an adapter can be unusable is one clear one-line <see cref="AdapterException"/>: what PEFT saves but
/// plain LoRA merging cannot reproduce, files that are missing or broken, and tensors that do not fit the model.
/// </summary>
public sealed class BadAdapterTests : IDisposable
{
    private static readonly HubOptions Offline = new(HubOptions.DefaultEndpoint, Path.GetTempPath(), null, Offline: true);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Each breakage of the golden musicgen-lora adapter: what it does (saving the folder) and a part of the error it must give.</summary>
    private static readonly Dictionary<string, (Func<AdapterFiles, string> Break, string Expected)> Breakages = new()
    {
        ["another PEFT method"] = (Saved(files => files.Config["peft_type"] = "IA3"), "peft_type is 'IA3'; only LoRA adapters"),
        ["DoRA"] = (Saved(files => files.Config["use_dora"] = true), "'use_dora' is set"),
        ["LoRA biases"] = (Saved(files => files.Config["lora_bias"] = true), "'lora_bias' is set"),
        ["a base-changing initialisation"] = (Saved(files => files.Config["init_lora_weights"] = "pissa"), "init_lora_weights 'pissa' is not supported"),
        ["no target_modules"] = (Saved(files => files.Config.Remove("target_modules")), "no target_modules"),
        ["a pattern .NET cannot read"] = (Saved(files => files.Config["target_modules"] = "(?P<name>fc1)"), "cannot read as a regular expression"),
        ["a rank pattern that is not a number"] = (Saved(files => files.Config["rank_pattern"] = new JsonObject { ["fc1"] = "four" }), "rank_pattern gives 'fc1' \"four\""),
        ["a module target_modules does not name"] = (Saved(files => files.Config["target_modules"] = new JsonArray("fc2")), "which target_modules does not name"),
        ["tensors in and out of the PEFT model"] = (Saved(files => Rename(files, files.Named("layers.0.fc1.lora_A.weight"), "decoder.model.decoder.layers.0.fc1.lora_A.weight")),
            "but 'decoder.model.decoder.layers.0.fc1.lora_A.weight' is not; a PEFT adapter has all of its tensors there or none"),
        ["an A factor without its B"] = (Saved(files => files.Tensors.Remove(files.Named("layers.0.fc1.lora_B.weight"))), "has an A factor but no B"),
        ["a factor of another LoRA variant"] = (Saved(files => files.Tensors["base_model.model.decoder.model.decoder.layers.0.fc1.lora_magnitude_vector"] = ([64], new float[64])),
            "is not a LoRA factor this engine merges"),
        ["factors of another rank"] = (Saved(files => files.Config["r"] = 2), "are not the factors of a rank-2 LoRA layer"),
        ["a module the checkpoint lacks"] = (Saved(files =>
        {
            Rename(files, files.Named("layers.1.fc1.lora_A.weight"), "base_model.model.decoder.model.decoder.layers.7.fc1.lora_A.weight");
            Rename(files, files.Named("layers.1.fc1.lora_B.weight"), "base_model.model.decoder.model.decoder.layers.7.fc1.lora_B.weight");
        }), "targets 'decoder.model.decoder.layers.7.fc1.weight', which the checkpoint does not have"),
        ["a convolution"] = (Saved(files =>
        {
            files.Config["target_modules"]!.AsArray().Add("conv");
            files.Tensors["base_model.model.audio_encoder.encoder.layers.0.conv.lora_A.weight"] = ([4, 7], new float[28]);
            files.Tensors["base_model.model.audio_encoder.encoder.layers.0.conv.lora_B.weight"] = ([4, 4], new float[16]);
        }), "a weight-normalized convolution; LoRA on convolutions is not supported"),
        ["a whole tensor the checkpoint lacks"] = (Saved(files => files.Tensors["base_model.model.decoder.model.decoder.ghost.weight"] = ([2], new float[2])),
            "targets 'decoder.model.decoder.ghost.weight', which the checkpoint does not have"),
        ["a whole tensor of another shape"] = (Saved(files => files.Tensors[files.Named("decoder.layer_norm.weight")] = ([32], new float[32])),
            "is [32], but the checkpoint's 'decoder.model.decoder.layer_norm.weight' is [64]"),
        ["non-finite factors"] = (Saved(files => files.Tensors[files.Named("layers.0.fc2.lora_A.weight")].Values[3] = float.NaN), "holds NaN or infinite values"),
        ["a whole tensor the model does not read"] = (Saved(files => files.Tensors["base_model.model.audio_encoder.quantizer.layers.0.codebook.embed_avg"] = ([256, 32], new float[256 * 32])),
            "replaces 'audio_encoder.quantizer.layers.0.codebook.embed_avg', which the model does not use"),
        ["no adapter_config.json"] = (files => Deleted(files, LoraConfig.FileName), "no adapter_config.json; this is not a PEFT adapter folder"),
        ["only adapter_model.bin"] = (files =>
        {
            string folder = Deleted(files, LoraAdapter.WeightsFileName);
            File.WriteAllText(Path.Combine(folder, "adapter_model.bin"), "pickle");
            return folder;
        }, "only adapter_model.bin, which this engine does not read"),
        ["a truncated adapter_model.safetensors"] = (files =>
        {
            files.Save();
            string path = Path.Combine(files.Folder, LoraAdapter.WeightsFileName);
            File.WriteAllBytes(path, File.ReadAllBytes(path)[..^100]);
            return files.Folder;
        }, "adapter_model.safetensors"),
        ["a folder that does not exist"] = (files => files.Folder + "-missing", "no such folder, and not a Hugging Face Hub model id"),
    };

    public static TheoryData<string> Cases() => new(Breakages.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bad_adapter_is_one_clear_error(string breakage)
    {
        var (breakIt, expected) = Breakages[breakage];
        string folder = breakIt(AdapterFiles.CopyOf(AdapterFiles.Lora, _temp.File("adapter")));
        using var backend = new CpuBackend();

        var error = Assert.Throws<AdapterException>(() =>
        {
            using var checkpoint = ModelLocator.OpenCheckpoint(AdapterFiles.PromptModel, [new AdapterReference(folder)], Offline);
            MusicgenModels.Load(backend, checkpoint).Dispose();
        });

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void An_adapter_of_another_model_is_refused_by_its_shapes_before_any_weight_is_loaded()
    {
        var error = Assert.Throws<AdapterException>(() => ModelLocator.OpenCheckpoint(AdapterFiles.PromptModel, [new AdapterReference(AdapterFiles.Rslora)], Offline));
        Assert.Contains("make a [2048, 64] delta, but the checkpoint's 'decoder.lm_heads.0.weight' is [256, 64]", error.Message);
    }

    [Fact]
    public void Two_adapters_that_replace_the_same_tensor_are_refused()
    {
        var error = Assert.Throws<AdapterException>(() =>
            ModelLocator.OpenCheckpoint(AdapterFiles.PromptModel, [new AdapterReference(AdapterFiles.Lora), new AdapterReference(AdapterFiles.Lora, 0.5)], Offline));
        Assert.Contains("replaces 'decoder.model.decoder.layer_norm.bias', which adapter", error.Message);
    }

    [Fact]
    public void A_base_model_named_on_the_Hub_must_be_the_models_repository_when_that_is_a_Hub_id_too()
    {
        using var adapter = LoraAdapter.Open(new AdapterReference(AdapterFiles.Lora), Offline); // trained on facebook/musicgen-small
        adapter.CheckBaseModel("facebook/musicgen-small");
        adapter.CheckBaseModel("Facebook/MusicGen-Small@refs/pr/3");
        adapter.CheckBaseModel(AdapterFiles.PromptModel);
        var error = Assert.Throws<AdapterException>(() => adapter.CheckBaseModel("facebook/musicgen-melody"));
        Assert.Equal($"adapter {AdapterFiles.Lora} was trained on facebook/musicgen-small, not facebook/musicgen-melody (give the model as a folder to apply it anyway)", error.Message);
    }

    private static Func<AdapterFiles, string> Saved(Action<AdapterFiles> change) => files =>
    {
        change(files);
        return files.Save().Folder;
    };

    private static void Rename(AdapterFiles files, string from, string to)
    {
        files.Tensors[to] = files.Tensors[from];
        files.Tensors.Remove(from);
    }

    private static string Deleted(AdapterFiles files, string file)
    {
        files.Save();
        File.Delete(Path.Combine(files.Folder, file));
        return files.Folder;
    }
}
