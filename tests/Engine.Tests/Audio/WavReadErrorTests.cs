using MusicGen.Engine.Audio;
using MusicGen.Loaders;

namespace MusicGen.Tests.Audio;

/// <summary>Every malformed or unsupported file is refused with a <see cref="MusicGenException"/> naming the file and the problem.</summary>
public class WavReadErrorTests
{
    private static readonly byte[] MonoFormat = WavBuilder.FormatBody(tag: 1, channels: 1, sampleRate: 32000, bits: 16);
    private static readonly byte[] FourMonoSamples = new byte[8];

    [Fact]
    public void Refuses_a_file_that_is_not_RIFF()
    {
        AssertRefused("OggS and then some Vorbis pages"u8.ToArray(), "not a RIFF/WAVE file", "starts with 'OggS'");
    }

    [Fact]
    public void Refuses_a_RIFF_file_that_is_not_WAVE()
    {
        AssertRefused(new WavBuilder { Form = "AVI " }.Chunk("fmt ", MonoFormat).Data(FourMonoSamples).ToArray(),
            "not a RIFF/WAVE file", "form 'AVI '");
    }

    [Fact]
    public void Shows_an_unprintable_signature_as_hex()
    {
        AssertRefused([0x00, 0x00, 0x01, 0xBA, 0x44, 0x00, 0x04, 0x00, 0x04, 0x01, 0x01, 0x89], "not a RIFF/WAVE file", "the bytes 000001BA");
    }

    [Fact]
    public void Refuses_RF64_saying_it_is_unsupported()
    {
        AssertRefused(new WavBuilder { Magic = "RF64" }.Chunk("ds64", new byte[28]).Chunk("fmt ", MonoFormat).ToArray(),
            "RF64", "not supported");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(11)]
    public void Refuses_a_file_shorter_than_the_RIFF_header(int length)
    {
        byte[] wav = new WavBuilder().Chunk("fmt ", MonoFormat).ToArray()[..length];

        AssertRefused(wav, "truncated header", $"{length} bytes");
    }

    [Fact]
    public void Refuses_a_fmt_chunk_shorter_than_16_bytes()
    {
        AssertRefused(new WavBuilder().Chunk("fmt ", MonoFormat[..14]).Data(FourMonoSamples).ToArray(),
            "truncated header", "fmt chunk has 14 bytes");
    }

    [Fact]
    public void Refuses_a_fmt_chunk_cut_off_by_the_end_of_the_file()
    {
        AssertRefused(new WavBuilder().Raw([.. "fmt "u8, .. WavBuilder.UInt32(16), .. MonoFormat[..10]]).ToArray(),
            "truncated header", "declares 16 bytes", "ends after 10");
    }

    [Fact]
    public void Refuses_an_extensible_fmt_chunk_without_its_extension()
    {
        AssertRefused(new WavBuilder().Fmt(0xFFFE, 1, 32000, 16).Data(FourMonoSamples).ToArray(),
            "truncated header", "WAVE_FORMAT_EXTENSIBLE");
    }

    [Fact]
    public void Refuses_a_file_without_a_fmt_chunk()
    {
        AssertRefused(new WavBuilder().Chunk("LIST", new byte[4]).Data(FourMonoSamples).ToArray(), "no fmt chunk");
    }

    [Fact]
    public void Refuses_a_file_without_a_data_chunk()
    {
        AssertRefused(new WavBuilder().Chunk("fmt ", MonoFormat).Chunk("LIST", new byte[4]).ToArray(), "no data chunk");
    }

    [Fact]
    public void Says_the_file_may_be_truncated_when_it_ends_inside_another_chunk_before_the_data()
    {
        byte[] wav = new WavBuilder().Chunk("fmt ", MonoFormat).Raw([.. "LIST"u8, .. WavBuilder.UInt32(100), 1, 2]).ToArray();

        AssertRefused(wav, "no data chunk", "ends inside a 'LIST' chunk", "truncated");
    }

    [Fact]
    public void Refuses_a_data_chunk_running_past_the_end_saying_how_many_bytes_are_missing()
    {
        byte[] wav = new WavBuilder().Chunk("fmt ", MonoFormat).Data(FourMonoSamples, declaredSize: 20).ToArray();

        AssertRefused(wav, "truncated", "declares 20 bytes", "12 bytes are missing");
    }

    [Theory]
    [InlineData(0x0002, "0x0002 (Microsoft ADPCM)")]
    [InlineData(0x0006, "0x0006 (A-law)")]
    [InlineData(0x0007, "0x0007 (µ-law)")]
    [InlineData(0x0055, "0x0055 (MPEG Layer III (MP3))")]
    [InlineData(0x1234, "0x1234")]
    public void Refuses_an_unsupported_format_tag_naming_it_and_what_is_supported(int tag, string named)
    {
        byte[] wav = new WavBuilder().Fmt((ushort)tag, 1, 8000, 8).Data(FourMonoSamples).ToArray();

        AssertRefused(wav, "unsupported encoding", named, "supported are integer PCM");
    }

    [Fact]
    public void Refuses_an_extensible_file_with_an_unsupported_sub_format()
    {
        byte[] wav = new WavBuilder().Chunk("fmt ", WavBuilder.ExtensibleFormatBody(subTag: 0x0007, 1, 8000, 8)).Data(FourMonoSamples).ToArray();

        AssertRefused(wav, "unsupported encoding", "WAVE_FORMAT_EXTENSIBLE", "0x0007 (µ-law)");
    }

    [Fact]
    public void Refuses_an_extensible_file_whose_sub_format_is_not_a_format_tag_GUID()
    {
        var ambisonicFloat = new Guid("00000003-0721-11D3-8644-C8C1CA000000");
        byte[] wav = new WavBuilder().Chunk("fmt ", WavBuilder.ExtensibleFormatBody(ambisonicFloat, 4, 48000, 32)).Data(new byte[16]).ToArray();

        AssertRefused(wav, "unsupported encoding", "{00000003-0721-11d3-8644-c8c1ca000000}");
    }

    [Theory]
    [InlineData(1, 12, "12-bit integer PCM")]
    [InlineData(1, 40, "40-bit integer PCM")]
    [InlineData(3, 16, "16-bit IEEE float")]
    public void Refuses_an_unsupported_bit_depth(int tag, int bits, string named)
    {
        byte[] wav = new WavBuilder().Fmt((ushort)tag, 1, 8000, bits, blockAlign: 2).Data(FourMonoSamples).ToArray();

        AssertRefused(wav, "unsupported encoding", named);
    }

    [Fact]
    public void Refuses_zero_channels()
    {
        AssertRefused(new WavBuilder().Fmt(1, 0, 32000, 16).Data(FourMonoSamples).ToArray(), "zero channels");
    }

    [Fact]
    public void Refuses_a_zero_sample_rate()
    {
        AssertRefused(new WavBuilder().Fmt(1, 1, 0, 16).Data(FourMonoSamples).ToArray(), "sample rate of zero");
    }

    [Fact]
    public void Refuses_a_block_align_inconsistent_with_channels_and_bits()
    {
        byte[] wav = new WavBuilder().Fmt(1, 2, 32000, 16, blockAlign: 2).Data(FourMonoSamples).ToArray();

        AssertRefused(wav, "block align of 2 bytes", "2 channel(s) × 16 bits", "expected 4");
    }

    [Fact]
    public void Reports_a_failing_stream_as_a_read_failure()
    {
        byte[] wav = new WavBuilder().Chunk("fmt ", MonoFormat).Data(FourMonoSamples).ToArray();

        const int dataOffset = 44;
        var error = Assert.Throws<MusicGenException>(() => WavFile.Read(new FailingStream(wav, dataOffset), "disk.wav"));

        Assert.StartsWith("disk.wav: read failed", error.Message);
    }

    [Fact]
    public void Reports_a_missing_file_by_its_path()
    {
        using var folder = new TempFolder();
        string path = folder.File("absent.wav");

        var error = Assert.Throws<MusicGenException>(() => WavFile.Read(path));

        Assert.Equal($"{path}: file not found", error.Message);
    }

    private static void AssertRefused(byte[] wav, params string[] fragments)
    {
        var error = Assert.Throws<MusicGenException>(() => WavFile.Read(new MemoryStream(wav), "bad.wav"));
        Assert.StartsWith("bad.wav: ", error.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, error.Message);
    }

    /// <summary>A seekable stream whose reads from <paramref name="failFrom"/> on fail, like a disk error.</summary>
    private sealed class FailingStream(byte[] bytes, long failFrom) : MemoryStream(bytes)
    {
        public override int Read(Span<byte> buffer) =>
            Position >= failFrom ? throw new IOException("device error") : base.Read(buffer);
    }
}
