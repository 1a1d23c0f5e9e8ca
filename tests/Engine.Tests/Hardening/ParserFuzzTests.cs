using System.Text;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hardening;

/// <summary>
/// Mutation fuzzing of every parser of the project: each mutant of a valid file either loads (and then is used as
/// far as is cheap) or is refused with a MusicGenException, never another exception, a hang or a crash.
/// </summary>
public sealed class ParserFuzzTests : IDisposable
{
    private static readonly string MonoModel = Path.Combine(TestPaths.Golden("musicgen-mono"), "model");
    private static readonly string MelodyModel = Path.Combine(TestPaths.Golden("musicgen-melody"), "model");
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Safetensors_header_and_data()
    {
        string original = _temp.File("original.safetensors");
        new SafetensorsWriter()
            .AddMetadata("sampling_rate", "32000")
            .Add("weight", [3, 4], Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray())
            .AddFloat16("half", [5], [1f, 2f, 3f, 4f, 5f])
            .AddBFloat16("brain", [2, 2], [1f, -1f, 0.5f, 2f])
            .Add("ids", [3], new long[] { 7, 8, 9 })
            .Save(original);
        string path = _temp.File("mutant.safetensors");
        Mutations.Fuzz("safetensors", File.ReadAllBytes(original), 600, text: false, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            using var file = SafetensorsFile.Open(path);
            foreach (var (name, entry) in file.Tensors)
            {
                if (SafetensorsDTypes.IsFloat(entry.DType)) file.ReadFloat32(name);
                else file.ReadInt64(name);
            }
        });
    }

    [Fact]
    public void Sharded_index()
    {
        string folder = _temp.File("sharded");
        Directory.CreateDirectory(folder);
        new SafetensorsWriter().Add("a.weight", [2], [1f, 2f]).Save(Path.Combine(folder, "model-00001-of-00002.safetensors"));
        new SafetensorsWriter().Add("b.weight", [3], [1f, 2f, 3f]).Save(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        byte[] index = Encoding.UTF8.GetBytes("""
            {"metadata": {"total_size": 20}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}}
            """);
        Mutations.Fuzz("index.json", index, 300, text: true, bytes =>
        {
            File.WriteAllBytes(Path.Combine(folder, WeightStore.IndexFileName), bytes);
            using var store = WeightStore.Open(folder);
            foreach (string name in store.Names) store.ReadFloat32(name);
        });
    }

    [Fact]
    public void Config_json_then_the_model_it_describes()
    {
        string folder = CheckpointCopy(MonoModel, "config");
        using var backend = new CpuBackend();
        Mutations.Fuzz("config.json", File.ReadAllBytes(Path.Combine(MonoModel, "config.json")), 200, text: true, bytes =>
        {
            File.WriteAllBytes(Path.Combine(folder, "config.json"), bytes);
            using var checkpoint = CheckpointFolder.Open(folder);
            MusicgenModels.Load(backend, checkpoint);
        });
    }

    [Fact]
    public void Quantized_checkpoint_header_then_the_model_it_holds()
    {
        // The header of a q4 checkpoint written by quantize (its metadata, the packed tensors' types, shapes and
        // offsets) mutated in front of the unchanged data: each mutant loads as q4 or is refused with one error.
        string quantized = _temp.File("quantized");
        using (var checkpoint = CheckpointFolder.Open(MonoModel)) CheckpointQuantizer.Quantize(checkpoint, WeightType.Q4, quantized);
        string weights = Path.Combine(quantized, WeightStore.SingleFileName);
        byte[] file = File.ReadAllBytes(weights);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(file, 0);
        using var backend = new CpuBackend();
        Mutations.Fuzz("quantized model.safetensors", file[..headerEnd], 150, text: true, bytes =>
        {
            File.WriteAllBytes(weights, [.. bytes, .. file.AsSpan(headerEnd)]);
            using var checkpoint = CheckpointFolder.Open(quantized);
            MusicgenModels.Load(backend, checkpoint, WeightType.Q4).Dispose();
        });
    }

    [Fact]
    public void Generation_and_preprocessor_configs()
    {
        string folder = CheckpointCopy(MelodyModel, "melody");
        Mutations.Fuzz("generation_config.json", File.ReadAllBytes(Path.Combine(MelodyModel, "generation_config.json")), 200, text: true, bytes =>
        {
            File.WriteAllBytes(Path.Combine(folder, "generation_config.json"), bytes);
            using var checkpoint = CheckpointFolder.Open(folder);
            Engine.Generation.SamplingOptions.FromGenerationConfig(checkpoint.Generation, 1).Validate();
        });
        File.Copy(Path.Combine(MelodyModel, "generation_config.json"), Path.Combine(folder, "generation_config.json"), overwrite: true);
        Mutations.Fuzz("preprocessor_config.json", File.ReadAllBytes(Path.Combine(MelodyModel, "preprocessor_config.json")), 200, text: true, bytes =>
        {
            File.WriteAllBytes(Path.Combine(folder, "preprocessor_config.json"), bytes);
            ChromaFeatureExtractor.FromFolder(folder);
        });
    }

    [Fact]
    public void SentencePiece_model()
    {
        string path = _temp.File("spiece.model");
        Mutations.Fuzz("spiece.model", File.ReadAllBytes(Path.Combine(MonoModel, "spiece.model")), 300, text: false, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            T5Tokenizer.FromSentencePieceModel(path).Encode("lofi beat, <extra_id_3> ｆｕｌｌ width ½");
        });
    }

    [Fact]
    public void Wav_read_and_resampled()
    {
        var tone = Enumerable.Range(0, 2205).Select(i => (short)(8000 * Math.Sin(i * 0.05))).ToArray();
        byte[] samples = new byte[tone.Length * 4];
        for (int i = 0; i < tone.Length; i++)
        {
            BitConverter.TryWriteBytes(samples.AsSpan(4 * i), tone[i]);
            BitConverter.TryWriteBytes(samples.AsSpan(4 * i + 2), (short)-tone[i]);
        }
        byte[] wav = new Audio.WavBuilder().Fmt(1, 2, 44100, 16).Data(samples).ToArray();
        string path = _temp.File("mutant.wav");
        Mutations.Fuzz("WAV", wav, 600, text: false, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            AudioFile.ReadAt(path, 32000, 1);
        });
    }

    /// <summary>A quarter second of stereo tones, the original the compressed-audio mutants start from.</summary>
    private static AudioClip Tones(int rate) =>
        new(rate, [.. Enumerable.Range(0, 2).Select(c => Enumerable.Range(0, rate / 4).Select(i => 0.5f * MathF.Sin(i * (0.05f + 0.02f * c))).ToArray())]);

    /// <summary>FLAC (16- and 24-bit) and Opus in Ogg as written here, decoded without ffmpeg.</summary>
    [Theory]
    [InlineData(".flac", SampleFormat.Pcm16)]
    [InlineData(".flac", SampleFormat.Pcm24)]
    [InlineData(".opus", null)]
    public void Flac_and_ogg_opus_read_natively(string extension, SampleFormat? format)
    {
        string original = _temp.File("original" + extension), path = _temp.File("mutant" + extension);
        AudioFile.Write(original, Tones(32000), format);
        FuzzAudio(extension, File.ReadAllBytes(original), path);
    }

    /// <summary>MP3 and Ogg Vorbis as ffmpeg's LAME and libvorbis write them, decoded by NLayer and NVorbis.</summary>
    [SkippableTheory]
    [InlineData(".mp3")]
    [InlineData(".ogg")]
    public void Mp3_and_ogg_vorbis_read_natively(string extension)
    {
        Skip.If(FfmpegDecoder.FromEnvironment().Executable is null, "ffmpeg makes the originals and is not installed");
        string wav = _temp.File("original.wav"), original = _temp.File("original" + extension), path = _temp.File("mutant" + extension);
        WavFile.Write(wav, Tones(44100), SampleFormat.Pcm16);
        Support.ReferenceTool.Succeed("ffmpeg", "-nostdin", "-v", "error", "-i", wav, original);
        FuzzAudio(extension, File.ReadAllBytes(original), path);
    }

    /// <summary>Each mutant decodes or is refused; with no ffmpeg to fall back on, a mutant whose header is gone is refused too.</summary>
    private static void FuzzAudio(string extension, byte[] original, string path)
    {
        var withoutFfmpeg = new FfmpegDecoder(searchPath: "");
        Mutations.Fuzz(extension, original, 300, text: false, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            AudioFile.Read(path, withoutFfmpeg, maxSeconds: 10).Convert(32000, 1);
        });
    }

    [Fact]
    public void Codes_json_and_safetensors()
    {
        var codes = new AudioCodes(1, 4, 6, Enumerable.Range(0, 24).Select(i => i * 37 % 2048).ToArray(), 32000, 50, 3840);
        foreach (string extension in (string[])[".json", ".safetensors"])
        {
            string original = _temp.File("original" + extension), path = _temp.File("mutant" + extension);
            CodesFile.Save(original, codes);
            Mutations.Fuzz("codes" + extension, File.ReadAllBytes(original), 300, text: extension == ".json", bytes =>
            {
                File.WriteAllBytes(path, bytes);
                CodesFile.Load(path).RequireWithin(2048);
            });
        }
    }

    [Fact]
    public void Adapter_config_and_weights_then_the_model_they_adapt()
    {
        string adapter = _temp.File("adapter");
        Directory.CreateDirectory(adapter);
        string config = Path.Combine(adapter, LoraConfig.FileName), weights = Path.Combine(adapter, LoraAdapter.WeightsFileName);
        string goldenConfig = Path.Combine(AdapterFiles.Lora, LoraConfig.FileName), goldenWeights = Path.Combine(AdapterFiles.Lora, LoraAdapter.WeightsFileName);
        var offline = new HubOptions(HubOptions.DefaultEndpoint, _temp.File("cache"), null, Offline: true);
        using var backend = new CpuBackend();
        void Load()
        {
            using var checkpoint = ModelLocator.OpenCheckpoint(AdapterFiles.PromptModel, [new AdapterReference(adapter)], offline);
            MusicgenModels.Load(backend, checkpoint).Dispose();
        }
        File.Copy(goldenWeights, weights);
        Mutations.Fuzz("adapter_config.json", File.ReadAllBytes(goldenConfig), 150, text: true, bytes =>
        {
            File.WriteAllBytes(config, bytes);
            Load();
        });
        File.Copy(goldenConfig, config, overwrite: true);
        Mutations.Fuzz("adapter_model.safetensors", File.ReadAllBytes(goldenWeights), 150, text: false, bytes =>
        {
            File.WriteAllBytes(weights, bytes);
            Load();
        });
    }

    /// <summary>A checkpoint folder whose weights and tokenizer link to <paramref name="model"/>'s, with copies of its configs to mutate.</summary>
    private string CheckpointCopy(string model, string name)
    {
        string folder = _temp.File(name);
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(model))
        {
            string target = Path.Combine(folder, Path.GetFileName(file));
            if (file.EndsWith(".json", StringComparison.Ordinal)) File.Copy(file, target);
            else File.CreateSymbolicLink(target, file);
        }
        return folder;
    }
}
