using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MusicGen.Loaders;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Engine.Codec;

/// <summary>
/// Codes on disk, by extension: <c>.safetensors</c> (an int64 tensor <c>codes</c> [channels, codebooks, frames]
/// with the rates in the metadata) or <c>.json</c> (the same as nested lists). Written atomically.
/// </summary>
public static class CodesFile
{
    public const string TensorName = "codes";

    public static void Save(string path, AudioCodes codes)
    {
        switch (Extension(path))
        {
            case ".safetensors":
                var writer = new SafetensorsWriter()
                    .AddMetadata("sampling_rate", codes.SampleRate.ToString(CultureInfo.InvariantCulture))
                    .AddMetadata("frame_rate", codes.FrameRate.ToString(CultureInfo.InvariantCulture))
                    .Add(TensorName, [codes.Channels, codes.Codebooks, codes.Frames], codes.Values.Select(v => (long)v).ToArray());
                if (codes.Samples is int samples) writer.AddMetadata("samples", samples.ToString(CultureInfo.InvariantCulture));
                writer.Save(path);
                break;
            case ".json":
                var json = new JsonObject
                {
                    ["sampling_rate"] = codes.SampleRate,
                    ["frame_rate"] = codes.FrameRate,
                    ["samples"] = codes.Samples,
                    ["shape"] = new JsonArray(codes.Channels, codes.Codebooks, codes.Frames),
                    ["codes"] = new JsonArray(Enumerable.Range(0, codes.Channels).Select(c => (JsonNode)new JsonArray(
                        Enumerable.Range(0, codes.Codebooks).Select(k => (JsonNode)new JsonArray(
                            codes.Values.AsSpan((c * codes.Codebooks + k) * codes.Frames, codes.Frames).ToArray().Select(v => (JsonNode)v).ToArray())).ToArray())).ToArray()),
                };
                AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, json));
                break;
            default:
                throw UnknownExtension(path);
        }
    }

    /// <summary>The codes in a file; any problem with it is an <see cref="InputFileException"/>.</summary>
    public static AudioCodes Load(string path) => MusicGenException.Refine(() =>
    {
        InputFile.RequireRegular(path);
        var codes = Extension(path) switch
        {
            ".safetensors" => LoadSafetensors(path),
            ".json" => LoadJson(path),
            _ => throw UnknownExtension(path),
        };
        codes.Validate(path);
        return codes;
    }, e => new InputFileException(e.Message, e));

    private static AudioCodes LoadSafetensors(string path)
    {
        using var file = SafetensorsFile.Open(path);
        if (!file.Contains(TensorName)) throw new MusicGenException($"{path}: no '{TensorName}' tensor");
        var shape = file.Entry(TensorName).Shape;
        if (shape.Length != 3) throw new MusicGenException($"{path}: '{TensorName}' has shape {ShapeText.Format(shape)}, expected [channels, codebooks, frames]");
        var values = file.ReadInt64(TensorName).Select((v, i) => v is >= 0 and <= int.MaxValue ? (int)v : throw new MusicGenException($"{path}: code {v} at position {i} is out of range")).ToArray();
        int Meta(string key) => file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, CultureInfo.InvariantCulture, out int v)
            ? v : throw new MusicGenException($"{path}: metadata '{key}' is missing or not an integer");
        int? samples = file.Metadata.ContainsKey("samples") ? Meta("samples") : null;
        return new AudioCodes(shape[0], shape[1], shape[2], values, Meta("sampling_rate"), Meta("frame_rate"), samples);
    }

    private static AudioCodes LoadJson(string path)
    {
        try
        {
            var bytes = InputFile.ReadAllBytes(path);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new MusicGenException($"{path}: not a codes JSON file (the text is not valid UTF-8)");
            var root = JsonNode.Parse(bytes)?.AsObject() ?? throw new MusicGenException($"{path}: empty JSON");
            var channels = root["codes"]?.AsArray() ?? throw new MusicGenException($"{path}: no 'codes' list");
            int codebooks = channels.Count > 0 ? channels[0]!.AsArray().Count : 0;
            int frames = codebooks > 0 ? channels[0]![0]!.AsArray().Count : 0;
            var values = new List<int>();
            foreach (var channel in channels)
            {
                var rows = channel!.AsArray();
                if (rows.Count != codebooks) throw new MusicGenException($"{path}: channels have different numbers of codebooks");
                foreach (var row in rows)
                {
                    var frameList = row!.AsArray();
                    if (frameList.Count != frames) throw new MusicGenException($"{path}: codebooks have different numbers of frames");
                    values.AddRange(frameList.Select(v => v!.GetValue<int>()));
                }
            }
            int samplingRate = root["sampling_rate"]?.GetValue<int>() ?? throw new MusicGenException($"{path}: no sampling_rate");
            int frameRate = root["frame_rate"]?.GetValue<int>() ?? throw new MusicGenException($"{path}: no frame_rate");
            return new AudioCodes(channels.Count, codebooks, frames, values.ToArray(), samplingRate, frameRate, root["samples"]?.GetValue<int>());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new MusicGenException($"{path}: not a codes JSON file ({e.Message})");
        }
    }

    private static string Extension(string path) => Path.GetExtension(path).ToLowerInvariant();

    private static MusicGenException UnknownExtension(string path) =>
        new($"{path}: codes files end in .safetensors or .json");
}
