using System.Text;
using FsCheck.Fluent;
using MusicGen.Loaders;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Loaders;

public class SafetensorsTests
{
    private static readonly FsCheck.Gen<int[]> Shapes =
        Gen.Choose(0, 3).SelectMany(rank => Gen.ArrayOf(Gen.Choose(0, 5), rank));

    [Fact]
    public void Float_round_trip_in_every_float_storage_type()
    {
        Properties.ForAll(Shapes.SelectMany(shape => Gen.Choose(-255, 255).Select(v => v / 4f)
                .ArrayOf((int)ShapeText.ElementCount(shape)).Select(values => (shape, values))),
            sample =>
            {
                using var folder = new TempFolder();
                string path = folder.File("t.safetensors");
                new SafetensorsWriter()
                    .Add("f32", sample.shape, sample.values)
                    .AddFloat16("f16", sample.shape, sample.values)
                    .AddBFloat16("bf16", sample.shape, sample.values)
                    .AddMetadata("format", "pt")
                    .Save(path);
                using var file = SafetensorsFile.Open(path);
                // Quarters below 64 in magnitude have at most 8 significant bits: exact in all three types.
                Assert.Equal(sample.values, file.ReadFloat32("f32"));
                Assert.Equal(sample.values, file.ReadFloat32("f16"));
                Assert.Equal(sample.values, file.ReadFloat32("bf16"));
                Assert.Equal(sample.shape, file.Entry("f16").Shape);
                Assert.Equal(SafetensorsDType.BF16, file.Entry("bf16").DType);
                Assert.Equal("pt", file.Metadata["format"]);
            });
    }

    [SkippableFact]
    public void A_file_reached_through_a_relative_symlink_is_read_whole()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("blobs"));
        Directory.CreateDirectory(folder.File("snapshot"));
        float[] values = [1, 2, 3, 4, 5, 6];
        new SafetensorsWriter().Add("w", [2, 3], values).Save(folder.File("blobs/0123abcd"));
        string link = Path.Combine(folder.File("snapshot"), "model.safetensors");
        SymbolicLinks.Create(link, "../blobs/0123abcd");

        using var file = SafetensorsFile.Open(link);
        Assert.Equal(values, file.ReadFloat32("w"));
    }

    [Fact]
    public void Integer_round_trip_from_every_integer_type()
    {
        Properties.ForAll(Gen.Choose(-100, 100).ArrayOf(), values =>
        {
            using var folder = new TempFolder();
            string path = folder.File("t.safetensors");
            var longs = values.Select(v => (long)v).ToArray();
            var shape = new[] { values.Length };
            new SafetensorsWriter()
                .Add("i64", shape, longs)
                .Add("i32", SafetensorsDType.I32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()))
                .Add("i8", SafetensorsDType.I8, shape, values.Select(v => (byte)(sbyte)v).ToArray())
                .Save(path);
            using var file = SafetensorsFile.Open(path);
            Assert.Equal(longs, file.ReadInt64("i64"));
            Assert.Equal(longs, file.ReadInt64("i32"));
            Assert.Equal(longs, file.ReadInt64("i8"));
        }, cases: 50);
    }

    [Fact]
    public void Bfloat16_rounds_to_nearest_even()
    {
        using var folder = new TempFolder();
        string path = folder.File("t.safetensors");
        float above = BitConverter.Int32BitsToSingle(0x3F808001); // just above halfway between two bf16 values
        float tie = BitConverter.Int32BitsToSingle(0x3F808000);   // exactly halfway: rounds to the even one
        new SafetensorsWriter().AddBFloat16("x", [2], [above, tie]).Save(path);
        using var file = SafetensorsFile.Open(path);
        var read = file.ReadFloat32("x");
        Assert.Equal(BitConverter.Int32BitsToSingle(0x3F810000), read[0]);
        Assert.Equal(BitConverter.Int32BitsToSingle(0x3F800000), read[1]);
    }

    [Fact]
    public void Writer_leaves_no_file_behind_when_the_folder_is_missing()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "missing", "t.safetensors");
        var error = Assert.Throws<MusicGenException>(() => new SafetensorsWriter().Add("x", [1], [1f]).Save(path));
        Assert.Contains("does not exist", error.Message);
        Assert.Empty(Directory.GetFiles(folder.Path, "*", SearchOption.AllDirectories));
    }

    private static string WriteRaw(TempFolder folder, string header, int dataBytes, ulong? declaredLength = null)
    {
        string path = folder.File("bad.safetensors");
        var headerBytes = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes(declaredLength ?? (ulong)headerBytes.Length));
        stream.Write(headerBytes);
        stream.Write(new byte[dataBytes]);
        return path;
    }

    private static MusicGenException OpenFails(string path) => Assert.Throws<MusicGenException>(() => SafetensorsFile.Open(path));

    [Fact]
    public void Bad_files_are_reported_with_the_file_and_tensor_named()
    {
        using var folder = new TempFolder();

        string tiny = folder.File("tiny.safetensors");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        Assert.Contains("truncated", OpenFails(tiny).Message);

        Assert.Contains("beyond the end", OpenFails(WriteRaw(folder, "{}", 0, declaredLength: 1000)).Message);
        Assert.Contains("not valid JSON", OpenFails(WriteRaw(folder, "{\"a\": ", 0)).Message);
        Assert.Contains("not a JSON object", OpenFails(WriteRaw(folder, "[1, 2]", 0)).Message);

        var outside = OpenFails(WriteRaw(folder, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8));
        Assert.Contains("'w'", outside.Message);
        Assert.Contains("outside the data", outside.Message);

        var duplicate = OpenFails(WriteRaw(folder,
            "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4));
        Assert.Contains("appears twice", duplicate.Message);

        var mismatch = OpenFails(WriteRaw(folder, "{\"w\": {\"dtype\": \"F16\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8));
        Assert.Contains("needs 6 bytes", mismatch.Message);

        Assert.Contains("unknown dtype", OpenFails(WriteRaw(folder, "{\"w\": {\"dtype\": \"F8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1)).Message);
        Assert.Contains("no data_offsets", OpenFails(WriteRaw(folder, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4)).Message);
        Assert.Contains("non-negative", OpenFails(WriteRaw(folder, "{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4)).Message);
        Assert.Contains("not found", OpenFails(folder.File("absent.safetensors")).Message);
    }

    [Theory]
    [InlineData("[0, 4]", "[8, 12]", 12, "tensor 'b' starts at byte 8 of the data section, but the tensors before it end at byte 4 (a gap)")]
    [InlineData("[0, 4]", "[2, 6]", 6, "tensor 'b' starts at byte 2 of the data section, but the tensors before it end at byte 4 (an overlap)")]
    [InlineData("[0, 4]", "[4, 8]", 11, "the data section holds 3 byte(s) after the last tensor")]
    public void Tensors_must_tile_the_data_section_as_the_reference_demands(string aOffsets, string bOffsets, int dataBytes, string expected)
    {
        // Bytes inserted into a file shift every later tensor: reading it anyway hands out garbage, such as token
        // ids beyond int32 that once surfaced in verify as an OverflowException.
        using var folder = new TempFolder();
        string header = $$$"""
            {"a": {"dtype": "F32", "shape": [1], "data_offsets": {{{aOffsets}}}}, "b": {"dtype": "F32", "shape": [1], "data_offsets": {{{bOffsets}}}}}
            """;
        var error = OpenFails(WriteRaw(folder, header, dataBytes));
        Assert.Contains(expected, error.Message);
        Assert.Contains("bad.safetensors", error.Message);
    }

    [Fact]
    public void A_header_listing_more_tensors_than_any_checkpoint_is_refused()
    {
        using var folder = new TempFolder();
        const int count = (1 << 16) + 1;
        var header = new StringBuilder("{");
        for (int i = 0; i < count; i++) header.Append(i == 0 ? "" : ",").Append($$"""
            "t{{i}}":{"dtype":"U8","shape":[1],"data_offsets":[{{i}},{{i + 1}}]}
            """);
        var error = OpenFails(WriteRaw(folder, header.Append('}').ToString(), count));
        Assert.Contains("the header lists more than 65536 tensors", error.Message);
    }

    [Fact]
    public void A_truncated_copy_of_a_real_checkpoint_names_a_tensor()
    {
        using var folder = new TempFolder();
        string source = Path.Combine(TestPaths.Golden("encodec-32khz"), "model", "model.safetensors");
        string truncated = folder.File("model.safetensors");
        var bytes = File.ReadAllBytes(source);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var error = OpenFails(truncated);
        Assert.Contains("truncated or corrupt", error.Message);
        Assert.Contains(truncated, error.Message);
    }

    [Fact]
    public void Reading_a_float_tensor_as_integers_is_an_error()
    {
        using var folder = new TempFolder();
        string path = folder.File("t.safetensors");
        new SafetensorsWriter().Add("x", [1], [1f]).Save(path);
        using var file = SafetensorsFile.Open(path);
        Assert.Contains("integer tensor is expected", Assert.Throws<MusicGenException>(() => file.ReadInt64("x")).Message);
        Assert.Contains("no tensor named 'y'", Assert.Throws<MusicGenException>(() => file.ReadFloat32("y")).Message);
    }
}
