using ParquetSharp;

namespace MusicGen.Tests.Datasets;

/// <summary>
/// A dataset row as ParquetSharp (Apache Arrow's C++ Parquet, not the library that wrote the files) reads it back.
/// Arrays are compared by content.
/// </summary>
public sealed record ParquetRow(
    string Id, string? Caption, string[]? AspectList, string? Labels, short[][] Codes, int Codebooks, int Length,
    double? Start, double? End, long? Author, bool? Balanced, bool? Eval, int[]? MotTokens, string?[] Extras)
{
    public bool Equals(ParquetRow? other) => other is not null && Key == other.Key;

    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);

    private string Key => System.Text.Json.JsonSerializer.Serialize(new object?[] { Id, Caption, AspectList, Labels, Codes, Codebooks, Length, Start, End, Author, Balanced, Eval, MotTokens, Extras });

    /// <summary>Every row of the dataset's files of a split, in file order.</summary>
    public static List<ParquetRow> ReadSplit(string folder, string split) =>
        Directory.EnumerateFiles(Path.Combine(folder, "data"), split + "-*.parquet").Order(StringComparer.Ordinal).SelectMany(Read).ToList();

    public static List<ParquetRow> Read(string path)
    {
        using var reader = new ParquetFileReader(path);
        var schema = reader.FileMetaData.Schema;
        var names = Enumerable.Range(0, schema.NumColumns).ToDictionary(i => schema.Column(i).Path.ToDotString().Split('.')[0], i => i);
        var extraNames = names.Keys.Where(n => !Known.Contains(n)).OrderBy(n => names[n]).ToArray();
        var rows = new List<ParquetRow>();
        for (int g = 0; g < reader.FileMetaData.NumRowGroups; g++)
        {
            using var group = reader.RowGroup(g);
            int n = checked((int)group.MetaData.NumRows);
            T[] Column<T>(string name) => group.Column(names[name]).LogicalReader<T>().ReadAll(n);
            var ids = Column<string>("ytid");
            var captions = Column<string?>("caption");
            var aspects = Column<string[]?>("aspect_list");
            var labels = Column<string?>("audioset_positive_labels");
            var codes = Column<short[][]>("audio_codes");
            var codebooks = Column<int>("n_codebooks");
            var lengths = Column<int>("seq_length");
            var starts = Column<double?>("start_s");
            var ends = Column<double?>("end_s");
            var authors = Column<long?>("author_id");
            var balanced = Column<bool?>("is_balanced_subset");
            var eval = Column<bool?>("is_audioset_eval");
            var tokens = names.ContainsKey("mot_tokens") ? Column<int[]>("mot_tokens") : null;
            var extras = extraNames.Select(Column<string?>).ToArray();
            for (int i = 0; i < n; i++)
                rows.Add(new ParquetRow(ids[i], captions[i], aspects[i], labels[i], codes[i], codebooks[i], lengths[i], starts[i], ends[i],
                    authors[i], balanced[i], eval[i], tokens?[i], extras.Select(e => e[i]).ToArray()));
        }
        return rows;
    }

    public static readonly string[] Known =
        ["ytid", "caption", "aspect_list", "audioset_positive_labels", "audio_codes", "n_codebooks", "seq_length", "start_s", "end_s",
         "author_id", "is_balanced_subset", "is_audioset_eval", "mot_tokens"];
}
