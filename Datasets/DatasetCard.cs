using System.Globalization;
using System.Text;
using System.Text.Json;
using MusicGen.Loaders.Hub;

namespace MusicGen.Datasets;

/// <summary>
/// The dataset's <c>README.md</c>: a Hugging Face dataset card, its YAML header naming the task, the size category
/// and the Parquet files of each split, then what the rows hold and how they were made.
/// </summary>
public static class DatasetCard
{
    public static string Write(DatasetSummary summary)
    {
        var s = summary.Settings;
        var card = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        card.Append("---\n");
        card.Append("task_categories:\n- text-to-audio\n- audio-to-audio\n");
        card.Append("tags:\n- music\n- encodec\n- audio-tokens\n");
        card.Append(inv, $"size_categories:\n- {SizeCategory(summary.Train.Clips + summary.Test.Clips)}\n");
        card.Append("configs:\n- config_name: default\n  data_files:\n");
        if (summary.TrainFiles > 0) card.Append("  - split: train\n    path: data/train-*.parquet\n");
        if (summary.TestFiles > 0) card.Append("  - split: test\n    path: data/test-*.parquet\n");
        card.Append("---\n\n");
        card.Append("# EnCodec tokens\n\n");
        card.Append(inv, $"Audio clips encoded by the EnCodec codec of `{s.Model}` ({s.SampleRate} Hz, {s.Channels} channel(s), ");
        card.Append(inv, $"{s.Codebooks} codebooks of codes at {s.FrameRate} frames per second, {s.Bandwidth} kbps), one row per clip, ");
        card.Append("made by `musicgen dataset` (MusicGen for .NET).\n\n");
        card.Append("| split | clips | hours of audio | tokens |\n| --- | --- | --- | --- |\n");
        foreach (var (name, split) in new[] { ("train", summary.Train), ("test", summary.Test) })
            card.Append(inv, $"| {name} | {split.Clips} | {split.Seconds / 3600:0.###} | {split.Tokens} |\n");
        card.Append('\n');
        card.Append(inv, $"- Audio read: {summary.AudioBytesRead} bytes; tokens written: {summary.TokenBytesWritten} bytes of Parquet");
        if (summary.TokenBytesWritten > 0) card.Append(inv, $" (compression ratio {(double)summary.AudioBytesRead / summary.TokenBytesWritten:0.#}:1)");
        card.Append(".\n");
        card.Append(inv, $"- Clips left out: {summary.Failed} (see `failures.csv`).\n");
        card.Append(inv, $"- Split: a clip is in `test` when the first 53 bits of SHA-256 of its UTF-8 id, as a fraction of 2^53, are below {s.TestFraction}.\n\n");
        card.Append("## Columns\n\n");
        card.Append("- `ytid` (string): the clip's id; `caption`, `audioset_positive_labels` (string); `aspect_list` (list of strings).\n");
        card.Append("- `audio_codes` (list of lists of int16): the codes, `[n_codebooks, seq_length]`");
        if (s.Channels > 1) card.Append(inv, $"; row `c * {s.Codebooks} + k` is codebook k of channel c");
        card.Append(".\n- `n_codebooks`, `seq_length` (int32): the shape of `audio_codes`.\n");
        card.Append("- `start_s`, `end_s` (float64): where the clip was taken from its recording; `author_id` (int64); `is_balanced_subset`, `is_audioset_eval` (bool).\n");
        if (s.MotOffset is int offset)
            card.Append(inv, $"- `mot_tokens` (list of int32): the codes interleaved frame by frame and shifted past a text vocabulary, `audio_codes.T.reshape(-1) + {offset}`.\n");
        foreach (string extra in s.ExtraColumns) card.Append($"- `{extra}` (string): from the manifest.\n");
        return card.ToString();
    }

    /// <summary>
    /// How the card names the model <c>--model</c> gave: a Hub id as given; a local checkpoint folder by the Hub id
    /// its config.json records (<c>_name_or_path</c>), else by the folder's name: never by a path on this machine,
    /// which means nothing on the Hub.
    /// </summary>
    public static string ModelName(string model)
    {
        if (!Directory.Exists(model)) return model;
        try
        {
            using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(model, "config.json")));
            if (config.RootElement.ValueKind == JsonValueKind.Object
                && config.RootElement.TryGetProperty("_name_or_path", out var recorded) && recorded.ValueKind == JsonValueKind.String
                && HubModelId.TryParse(recorded.GetString()!, out _))
                return recorded.GetString()!;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            // The checkpoint was read through its own checks; here only its name is looked for.
        }
        return Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model)));
    }

    private static string SizeCategory(int rows) => rows switch
    {
        < 1_000 => "n<1K",
        < 10_000 => "1K<n<10K",
        < 100_000 => "10K<n<100K",
        < 1_000_000 => "100K<n<1M",
        < 10_000_000 => "1M<n<10M",
        _ => "10M<n<100M",
    };
}
