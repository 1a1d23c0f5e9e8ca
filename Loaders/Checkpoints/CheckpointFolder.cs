using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Configs;

namespace MusicGen.Loaders.Checkpoints;

public enum CheckpointKind { Musicgen, MusicgenMelody, Encodec }

/// <summary>
/// A local folder holding a checkpoint as published on the Hugging Face Hub: a full MusicGen checkpoint (whose
/// codec is its <c>audio_encoder.*</c> part) or a standalone EnCodec checkpoint. Gives the typed configs, the
/// tokenizer files and the weights, with any adapters merged into them as they are read (<see cref="Adapters"/>);
/// nothing in it is converted beforehand.
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
    /// <summary>The adapters merged into the weights as the models read them (none unless opened with some).</summary>
    public AdapterMerge Adapters { get; }

    private CheckpointFolder(string folder, CheckpointKind kind, string modelType, MusicgenConfig? musicgen,
        EncodecConfig codec, GenerationConfig generation, WeightStore weights, AdapterMerge adapters)
    {
        Adapters = adapters;
        Folder = folder;
        Kind = kind;
        ModelType = modelType;
        Musicgen = musicgen;
        Codec = codec;
        Generation = generation;
        Weights = weights;
    }

    /// <summary>
    /// Opens a checkpoint folder; with <paramref name="adapters"/>, which the checkpoint then owns (disposing them
    /// with itself, or at once when it cannot be opened), checked against its tensors and merged into them as they
    /// are read.
    /// </summary>
    public static CheckpointFolder Open(string folder, IReadOnlyList<LoraAdapter>? adapters = null)
    {
        try
        {
            return OpenWith(folder, adapters ?? []);
        }
        catch
        {
            foreach (var adapter in adapters ?? []) adapter.Dispose();
            throw;
        }
    }

    private static CheckpointFolder OpenWith(string folder, IReadOnlyList<LoraAdapter> adapters)
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

        var weights = WeightStore.Open(folder);
        try
        {
            var merge = adapters.Count == 0 ? AdapterMerge.None : new AdapterMerge(weights, adapters);
            return new CheckpointFolder(folder, kind, modelType, musicgen, codec, generation, weights, merge);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>The codec's weights: the audio_encoder part of a MusicGen checkpoint, or all of an EnCodec one.</summary>
    public WeightReader CodecWeights => new(Weights, Kind == CheckpointKind.Encodec ? "" : "audio_encoder.", adapters: Adapters);

    public WeightReader AllWeights => new(Weights, adapters: Adapters);

    public string? FindFile(string name)
    {
        string path = Path.Combine(Folder, name);
        return File.Exists(path) ? path : null;
    }

    /// <summary>The MusicGen config; an error for a standalone codec checkpoint.</summary>
    public MusicgenConfig RequireMusicgen() => Musicgen
        ?? throw new MusicGenException($"{Folder}: this is a standalone EnCodec checkpoint, not a MusicGen model");

    public void Dispose()
    {
        Weights.Dispose();
        foreach (var adapter in Adapters.Adapters) adapter.Dispose();
    }
}
