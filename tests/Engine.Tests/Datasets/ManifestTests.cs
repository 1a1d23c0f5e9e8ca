using FsCheck;
using FsCheck.Fluent;
using MusicGen.Datasets;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Datasets;

public class ManifestTests
{
    private const string Header = "ytid,start_s,end_s,audioset_positive_labels,aspect_list,caption,author_id,is_balanced_subset,is_audioset_eval";

    private static Manifest Parse(string text)
    {
        using var folder = new TempFolder();
        string path = folder.File("manifest.csv");
        File.WriteAllText(path, text);
        return Manifest.Read(path);
    }

    [Fact]
    public void MusicCaps_columns_are_typed_missing_ones_are_null_and_extra_ones_kept()
    {
        var manifest = Parse(Header + ",genre\r\n"
            + "-0Gj8-vB1q4,30,40,\"/m/0140xf,/m/02cjck\",\"['low quality', \"\"it's\"\"]\",\"A song, with\ntwo lines\",4,False,True,pop\r\n"
            + "\r\n"
            + "abc,,,,,,,,,\n");
        Assert.Equal(["genre"], manifest.ExtraColumns);
        var first = manifest.Entries[0];
        Assert.Equal(("-0Gj8-vB1q4", 30.0, 40.0), (first.Id, first.StartSeconds, first.EndSeconds));
        Assert.Equal("/m/0140xf,/m/02cjck", first.AudiosetPositiveLabels);
        Assert.Equal(["low quality", "it's"], first.AspectList!);
        Assert.Equal("A song, with\ntwo lines", first.Caption);
        Assert.Equal((4L, false, true), (first.AuthorId, first.IsBalancedSubset, first.IsAudiosetEval));
        Assert.Equal(new string?[] { "pop" }, (IEnumerable<string?>)first.Extras);
        var second = manifest.Entries[1];
        Assert.Equal(("abc", null, null, null, null), (second.Id, second.StartSeconds, second.Caption, second.AspectList, second.AuthorId));
        Assert.Equal(new string?[] { null }, (IEnumerable<string?>)second.Extras);
    }

    [Fact]
    public void Only_ytid_is_required()
    {
        var manifest = Parse("caption,ytid\nhello,x\n");
        Assert.Equal(("x", "hello", (double?)null), (manifest.Entries[0].Id, manifest.Entries[0].Caption, manifest.Entries[0].StartSeconds));
    }

    [Theory]
    [InlineData("caption\nx\n", "no ytid column")]
    [InlineData("ytid,ytid\nx,y\n", "appears twice")]
    [InlineData("ytid,\nx,y\n", "column 2 has no name")]
    [InlineData("ytid,audio_codes\nx,y\n", "audio_codes is one the dataset computes")]
    [InlineData("ytid,caption\nx\n", ":2: 1 fields, the header has 2")]
    [InlineData("ytid\nx\nx\n", ":3: ytid x appears twice")]
    [InlineData("ytid,caption\n,y\n", ":2: empty ytid")]
    [InlineData("ytid,caption\nx,\"unclosed\n", ":2: a quoted field is not closed")]
    [InlineData("ytid,caption\nx,\"a\"b\n", "text after a closing quote")]
    [InlineData("ytid,caption\nx,a\"b\n", "a quote inside an unquoted field")]
    [InlineData("ytid,start_s\nx,ten\n", ":2: start_s is ten, expected a number")]
    [InlineData("ytid,end_s\nx,NaN\n", "expected a number")]
    [InlineData("ytid,author_id\nx,1.5\n", "expected an integer")]
    [InlineData("ytid,is_balanced_subset\nx,maybe\n", "expected True or False")]
    [InlineData("ytid,aspect_list\nx,\"['a', 'b'\"\n", ":2: aspect_list: not a Python list of strings (missing ']'")]
    [InlineData("", "empty manifest")]
    public void A_malformed_manifest_is_an_error_naming_the_line(string text, string message)
    {
        var error = Assert.Throws<MusicGenException>(() => Parse(text));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_huge_field_is_an_error_not_unbounded_memory()
    {
        var error = Assert.Throws<MusicGenException>(() => Parse("ytid,caption\nx,\"" + new string('a', CsvReader.MaxFieldChars + 1) + "\"\n"));
        Assert.Contains($"longer than {CsvReader.MaxFieldChars} characters", error.Message);
    }

    [Fact]
    public void A_manifest_that_is_not_utf8_is_an_error()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("m.csv"), [(byte)'y', (byte)'t', (byte)'i', (byte)'d', (byte)'\n', 0xff, 0xfe, (byte)'\n']);
        Assert.Contains("not UTF-8", Assert.Throws<MusicGenException>(() => Manifest.Read(folder.File("m.csv"))).Message);
    }

    [Fact]
    public void Any_mutation_of_a_manifest_parses_or_is_a_clean_error()
    {
        string valid = Header + ",genre\n-0Gj8-vB1q4,30,40,\"/m/0140xf,/m/02cjck\",\"['low quality', \"\"it's\"\"]\",\"A song, \"\"quoted\"\"\",4,False,True,pop\n"
            + "abc,1.5,2.5,,\"[\"\"x\"\"]\",caption,,,,\n";
        var mutation = Properties.Ints((0, valid.Length - 1), (0, 3), (0, 11));
        Properties.ForAll(mutation, m =>
        {
            char[] inserted = ['"', ',', '\n', '\'', '[', ']', '\\', '\r', 'x', '1', ' ', '.'];
            string text = m[1] switch
            {
                0 => valid.Remove(m[0], 1),
                1 => valid.Insert(m[0], inserted[m[2]].ToString()),
                2 => valid.Remove(m[0], 1).Insert(m[0], inserted[m[2]].ToString()),
                _ => valid[..m[0]],
            };
            try
            {
                Parse(text);
            }
            catch (MusicGenException)
            {
            }
        }, cases: 300);
    }
}

public class PythonListLiteralTests
{
    [Theory]
    [InlineData("[]", new string[0])]
    [InlineData("  [ 'a' ,\"b\", ] ", new[] { "a", "b" })]
    [InlineData(@"['it\'s', ""say \""hi\"""", 'back\\slash', 'tab\there']", new[] { "it's", "say \"hi\"", "back\\slash", "tab\there" })]
    [InlineData("['comma, inside', '[brackets]']", new[] { "comma, inside", "[brackets]" })]
    public void Parses_python_string_lists(string text, string[] expected) => Assert.Equal(expected, PythonListLiteral.Parse(text));

    [Theory]
    [InlineData("", "expected '['")]
    [InlineData("'a'", "expected '['")]
    [InlineData("['a'", "missing ']'")]
    [InlineData("['a' 'b']", "expected ',' or ']'")]
    [InlineData("[a]", "expected a quoted string")]
    [InlineData("['a]", "unterminated string")]
    [InlineData(@"['\x41']", "unsupported escape")]
    [InlineData("['a'] x", "text after ']'")]
    [InlineData("[1, 2]", "expected a quoted string")]
    public void Malformed_lists_are_clean_errors(string text, string message) =>
        Assert.Contains(message, Assert.Throws<MusicGenException>(() => PythonListLiteral.Parse(text)).Message);

    [Fact]
    public void Python_repr_of_any_list_of_strings_parses_back()
    {
        var strings = Gen.ArrayOf(Gen.ArrayOf(Gen.Elements('a', ' ', '\'', '"', '\\', ',', '[', ']', '\n', '\t', 'é')).Select(c => new string(c)));
        Properties.ForAll(strings, items => Assert.Equal(items, PythonListLiteral.Parse(Repr(items))));
    }

    /// <summary>What Python's repr writes for a list of str (quotes chosen per item as Python does).</summary>
    private static string Repr(string[] items) => "[" + string.Join(", ", items.Select(item =>
    {
        char quote = item.Contains('\'') && !item.Contains('"') ? '"' : '\'';
        string body = item.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t").Replace(quote.ToString(), "\\" + quote);
        return quote + body + quote;
    })) + "]";
}

public class ShardAndSplitTests
{
    [Fact]
    public void Shards_partition_the_manifest_in_order()
    {
        Properties.ForAll(Properties.Ints((0, 5000), (1, 64)), a =>
        {
            int total = a[0], count = a[1], next = 0;
            for (int i = 0; i < count; i++)
            {
                var (start, end) = new Shard(i, count).Range(total);
                Assert.Equal(next, start);
                Assert.True(end >= start && end - start <= total / count + 1);
                next = end;
            }
            Assert.Equal(total, next);
        });
    }

    [Theory]
    [InlineData("2/8", 2, 8)]
    [InlineData("0/1", 0, 1)]
    public void Parses_shards(string text, int index, int count) => Assert.Equal(new Shard(index, count), Shard.Parse(text));

    [Theory]
    [InlineData("8/8")]
    [InlineData("-1/8")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("1/100000")]
    public void Bad_shards_are_errors(string text) => Assert.Throws<MusicGenException>(() => Shard.Parse(text));

    [Fact]
    public void Shards_come_from_Kubernetes_and_Slurm_variables()
    {
        Shard? From(params (string Name, string Value)[] variables) => Shard.FromEnvironment(name => variables.FirstOrDefault(v => v.Name == name).Value);
        Assert.Null(From());
        Assert.Equal(new Shard(3, 5), From(("JOB_COMPLETION_INDEX", "3"), ("JOB_COMPLETION_COUNT", "5")));
        Assert.Equal(new Shard(2, 4), From(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")));
        Assert.Contains("JOB_COMPLETION_COUNT is not", Assert.Throws<MusicGenException>(() => From(("JOB_COMPLETION_INDEX", "3"))).Message);
        Assert.Contains("not a contiguous range", Assert.Throws<MusicGenException>(() =>
            From(("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_MAX", "8"), ("SLURM_ARRAY_TASK_COUNT", "3"))).Message);
        Assert.Contains("not below the count", Assert.Throws<MusicGenException>(() => From(("JOB_COMPLETION_INDEX", "5"), ("JOB_COMPLETION_COUNT", "5"))).Message);
    }

    [Fact]
    public void The_split_depends_on_the_id_alone_and_follows_the_fraction()
    {
        var ids = Enumerable.Range(0, 4000).Select(i => $"clip-{i}").ToArray();
        int test = ids.Count(id => DatasetSplit.Of(id, 0.1) == DatasetSplit.Test);
        Assert.InRange(test, 320, 480);
        Assert.All(ids, id => Assert.Equal(DatasetSplit.Of(id, 0.1), DatasetSplit.Of(id, 0.1)));
        Assert.All(ids.Where(id => DatasetSplit.Of(id, 0.1) == DatasetSplit.Test), id => Assert.Equal(DatasetSplit.Test, DatasetSplit.Of(id, 0.2)));
        Assert.All(ids, id => Assert.Equal(DatasetSplit.Train, DatasetSplit.Of(id, 0)));
        Assert.All(ids, id => Assert.Equal(DatasetSplit.Test, DatasetSplit.Of(id, 1)));
    }
}
