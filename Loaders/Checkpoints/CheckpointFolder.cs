using MusicGen.Loaders.Configs;

namespace MusicGen.Loaders.Checkpoints;

public enum CheckpointKind { Musicgen, MusicgenMelody, Encodec }

/// <summary>
/// A local folder holding a checkpoint as published on the Hugging Face Hub: a full MusicGen checkpoint (whose
/// codec is its <c>audio_encoder.*</c> part) or a standalone EnCodec checkpoint. Gives the typed configs, the
/// tokenizer files and the weights; nothing in it is converted beforehand.
/// </summary>
public sealed class CheckpointFolder : IDisposable
{
    public string Folder { get; }
    public CheckpointKind Kind { get; }
    public string ModelType { get; }
    /// <summary>The composite config, or null for a standalone EnCodec checkpoint.</summary>
    public MusicgenConfig? Musicgen { get; }
    public EncodecConfig Codec { get; }
    public GenerationConfig Generation { get; }
    public WeightStore Weights { get; }

    private CheckpointFolder(string folder, CheckpointKind kind, string modelType, MusicgenConfig? musicgen,
        EncodecConfig codec, GenerationConfig generation, WeightStore weights)
    {
        Folder = folder;
        Kind = kind;
        ModelType = modelType;
        Musicgen = musicgen;
        Codec = codec;
        Generation = generation;
        Weights = weights;
    }

    public static CheckpointFolder Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new MusicGenException($"{folder}: model folder not found");
        string configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new MusicGenException($"{folder}: no config.json; this is not a checkpoint folder");

        CheckpointKind kind;
        MusicgenConfig? musicgen = null;
        EncodecConfig codec;
        string modelType;
        using (var document = ConfigReader.ParseFile(configPath))
        {
            var json = new ConfigReader(document.RootElement, configPath);
            modelType = json.String("model_type", "");
            switch (modelType)
            {
                case "musicgen" or "musicgen_melody":
                    musicgen = MusicgenConfig.Read(json, modelType);
                    codec = musicgen.AudioEncoder;
                    kind = musicgen.Kind == MusicgenKind.MusicgenMelody ? CheckpointKind.MusicgenMelody : CheckpointKind.Musicgen;
                    break;
                case "encodec":
                    codec = EncodecConfig.Read(json);
                    kind = CheckpointKind.Encodec;
                    break;
                case "":
                    throw new MusicGenException($"{configPath}: no model_type");
                default:
                    throw new MusicGenException($"{configPath}: model_type '{modelType}' is not supported (musicgen, musicgen_melody or encodec)");
            }
        }

        var generation = GenerationConfig.Empty;
        string generationPath = Path.Combine(folder, "generation_config.json");
        if (File.Exists(generationPath))
        {
            using var document = ConfigReader.ParseFile(generationPath);
            generation = GenerationConfig.Read(new ConfigReader(document.RootElement, generationPath));
        }

        return new CheckpointFolder(folder, kind, modelType, musicgen, codec, generation, WeightStore.Open(folder));
    }

    /// <summary>The codec's weights: the audio_encoder part of a MusicGen checkpoint, or all of an EnCodec one.</summary>
    public WeightReader CodecWeights => new(Weights, Kind == CheckpointKind.Encodec ? "" : "audio_encoder.");

    public WeightReader AllWeights => new(Weights);

    public string? FindFile(string name)
    {
        string path = Path.Combine(Folder, name);
        return File.Exists(path) ? path : null;
    }

    /// <summary>The MusicGen config; an error for a standalone codec checkpoint.</summary>
    public MusicgenConfig RequireMusicgen() => Musicgen
        ?? throw new MusicGenException($"{Folder}: this is a standalone EnCodec checkpoint, not a MusicGen model");

    public void Dispose() => Weights.Dispose();
}
