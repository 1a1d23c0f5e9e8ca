using MusicGen.Loaders;
using Parquet;
using Parquet.Schema;

namespace MusicGen.Datasets;

/// <summary>
/// The Parquet layout of a token dataset, one row per clip: <c>ytid</c> string, <c>caption</c> string,
/// <c>aspect_list</c> list&lt;string&gt;, <c>audioset_positive_labels</c> string, <c>audio_codes</c>
/// list&lt;list&lt;int16&gt;&gt; [codebooks, frames], <c>n_codebooks</c> and <c>seq_length</c> int32,
/// <c>start_s</c> and <c>end_s</c> double, <c>author_id</c> int64, <c>is_balanced_subset</c> and
/// <c>is_audioset_eval</c> bool, then <c>mot_tokens</c> list&lt;int32&gt; when asked for, then the manifest's
/// extra columns as strings. Everything but the id and the codes may be null.
/// </summary>
public sealed class DatasetParquet
{
    private readonly DataField<string> _id = new("ytid", false);
    private readonly DataField<string> _caption = new("caption");
    private readonly DataField<string> _aspect = new("element", false);
    private readonly DataField<string> _labels = new("audioset_positive_labels");
    private readonly DataField<short> _code = new("element");
    private readonly DataField<int> _codebooks = new("n_codebooks");
    private readonly DataField<int> _length = new("seq_length");
    private readonly DataField<double?> _start = new("start_s");
    private readonly DataField<double?> _end = new("end_s");
    private readonly DataField<long?> _author = new("author_id");
    private readonly DataField<bool?> _balanced = new("is_balanced_subset");
    private readonly DataField<bool?> _eval = new("is_audioset_eval");
    private readonly DataField<int> _token = new("element");
    private readonly DataField<string>[] _extras;
    private readonly int? _motOffset;

    public ParquetSchema Schema { get; }

    public DatasetParquet(IReadOnlyList<string> extraColumns, int? motOffset)
    {
        _motOffset = motOffset;
        _extras = extraColumns.Select(c => new DataField<string>(c)).ToArray();
        var fields = new List<Field>
        {
            _id, _caption, new ListField("aspect_list", _aspect), _labels,
            new ListField("audio_codes", new ListField("element", _code)),
            _codebooks, _length, _start, _end, _author, _balanced, _eval,
        };
        if (motOffset is not null) fields.Add(new ListField("mot_tokens", _token));
        fields.AddRange(_extras);
        Schema = new ParquetSchema(fields);
    }

    /// <summary>Writes the rows as one row group.</summary>
    public async Task WriteAsync(Stream stream, IReadOnlyList<DatasetRow> rows)
    {
        await using var writer = await ParquetWriter.CreateAsync(Schema, stream);
        using var group = writer.CreateRowGroup();
        var entries = rows.Select(r => r.Entry).ToArray();
        await group.WriteAsync(_id, entries.Select(e => e.Id).ToArray());
        await group.WriteAsync(_caption, entries.Select(e => e.Caption).ToArray()!);
        await WriteStringListsAsync(group, entries.Select(e => e.AspectList).ToArray());
        await group.WriteAsync(_labels, entries.Select(e => e.AudiosetPositiveLabels).ToArray()!);
        await WriteCodesAsync(group, rows);
        await group.WriteAsync<int>(_codebooks, rows.Select(r => r.Rows).ToArray());
        await group.WriteAsync<int>(_length, rows.Select(r => r.Frames).ToArray());
        await group.WriteAsync<double>(_start, entries.Select(e => e.StartSeconds).ToArray());
        await group.WriteAsync<double>(_end, entries.Select(e => e.EndSeconds).ToArray());
        await group.WriteAsync<long>(_author, entries.Select(e => e.AuthorId).ToArray());
        await group.WriteAsync<bool>(_balanced, entries.Select(e => e.IsBalancedSubset).ToArray());
        await group.WriteAsync<bool>(_eval, entries.Select(e => e.IsAudiosetEval).ToArray());
        if (_motOffset is int offset) await WriteTokensAsync(group, rows, offset);
        for (int c = 0; c < _extras.Length; c++) await group.WriteAsync(_extras[c], entries.Select(e => e.Extras[c]).ToArray()!);
    }

    // Lists are written with explicit levels. A list column is an optional group holding a repeated group holding
    // the element, so definition level 0 is a null list, 1 an empty list, 2 an element of a list of elements;
    // repetition level 0 starts a row, 1 continues the outer list, 2 the inner list of a list of lists.

    private async Task WriteStringListsAsync(ParquetRowGroupWriter group, string[]?[] lists)
    {
        var values = new List<ReadOnlyMemory<char>>();
        var definitions = new List<int>();
        var repetitions = new List<int>();
        foreach (var list in lists)
        {
            if (list is null || list.Length == 0)
            {
                definitions.Add(list is null ? 0 : 1);
                repetitions.Add(0);
                continue;
            }
            for (int i = 0; i < list.Length; i++)
            {
                values.Add(list[i].AsMemory());
                definitions.Add(2);
                repetitions.Add(i == 0 ? 0 : 1);
            }
        }
        await group.WriteAllPartsAsync<ReadOnlyMemory<char>>(_aspect, values.ToArray(), definitions.ToArray(), repetitions.ToArray(), default);
    }

    private async Task WriteCodesAsync(ParquetRowGroupWriter group, IReadOnlyList<DatasetRow> rows)
    {
        int total = rows.Sum(r => r.Codes.Length);
        var values = new short[total];
        var repetitions = new int[total];
        int at = 0;
        foreach (var row in rows)
        {
            if (row.Frames == 0) throw new MusicGenException($"{row.Entry.Id}: no frames to write");
            row.Codes.CopyTo(values, at);
            for (int i = 0; i < row.Codes.Length; i++) repetitions[at + i] = i == 0 ? 0 : i % row.Frames == 0 ? 1 : 2;
            at += row.Codes.Length;
        }
        await group.WriteAllPartsAsync<short>(_code, values, Enumerable.Repeat(_code.MaxDefinitionLevel, total).ToArray(), repetitions, default);
    }

    private async Task WriteTokensAsync(ParquetRowGroupWriter group, IReadOnlyList<DatasetRow> rows, int offset)
    {
        var values = rows.SelectMany(r => r.MotTokens(offset)).ToArray();
        var repetitions = rows.SelectMany(r => Enumerable.Range(0, r.Codes.Length).Select(i => i == 0 ? 0 : 1)).ToArray();
        await group.WriteAllPartsAsync<int>(_token, values, Enumerable.Repeat(_token.MaxDefinitionLevel, values.Length).ToArray(), repetitions, default);
    }

    /// <summary>The codes [rows, frames] of the clip <paramref name="id"/> in a dataset file, or null when it has none.</summary>
    public static async Task<(int Rows, int Frames, short[] Codes)?> FindCodesAsync(string path, string id)
    {
        var layout = new DatasetParquet([], null);
        await using var reader = await ParquetReader.CreateAsync(path);
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            int count = checked((int)group.RowCount);
            var ids = new string?[count];
            await group.ReadAsync(layout._id, ids.AsMemory());
            int row = Array.IndexOf(ids, id);
            if (row < 0) continue;
            var codebooks = new int[count];
            var lengths = new int[count];
            await group.ReadAsync<int>(layout._codebooks, codebooks.AsMemory());
            await group.ReadAsync<int>(layout._length, lengths.AsMemory());
            long total = 0, before = 0;
            for (int r = 0; r < count; r++)
            {
                if (r == row) before = total;
                total += (long)codebooks[r] * lengths[r];
            }
            var values = new short[checked((int)total)];
            var levels = new int[values.Length];
            await group.ReadRawAsync<short>(layout._code, values.AsMemory(), levels.AsMemory(), levels.AsMemory(), default);
            int size = codebooks[row] * lengths[row];
            return (codebooks[row], lengths[row], values.AsSpan((int)before, size).ToArray());
        }
        return null;
    }
}
