using MusicGen.Tests.Support;
using MusicGen.Engine.Audio;

namespace MusicGen.Tests.Audio;

/// <summary>Chunk arrangements and streaming-writer conventions the reader must cope with.</summary>
public class WavReadLayoutTests
{
    /// <summary>Stereo 16-bit frames (1000, -1000), (2000, -2000), (3000, -3000).</summary>
    private static readonly byte[] ThreeStereoFrames = Pcm16(1000, -1000, 2000, -2000, 3000, -3000);

    private static readonly byte[] StereoFormat = WavBuilder.FormatBody(tag: 1, channels: 2, sampleRate: 32000, bits: 16);

    [Fact]
    public void Reads_fmt_after_a_LIST_chunk_and_an_odd_sized_chunk()
    {
        byte[] wav = new WavBuilder()
            .Chunk("LIST", [.. "INFOISFT"u8, .. WavBuilder.UInt32(5), .. "sox\0\0"u8])
            .Chunk("odd!", [1, 2, 3])
            .Chunk("fmt ", StereoFormat)
            .Data(ThreeStereoFrames)
            .ToArray();

        AssertThreeStereoFrames(Read(wav));
    }

    [Fact]
    public void Reads_data_before_fmt()
    {
        byte[] wav = new WavBuilder().Data(ThreeStereoFrames).Chunk("fmt ", StereoFormat).ToArray();

        AssertThreeStereoFrames(Read(wav));
    }

    [Fact]
    public void Ignores_chunks_and_junk_after_the_data()
    {
        byte[] wav = new WavBuilder()
            .Chunk("fmt ", StereoFormat)
            .Data(ThreeStereoFrames)
            .Chunk("LIST", [.. "INFO"u8])
            .Raw([0xDE, 0xAD, 0xBE])
            .ToArray();

        AssertThreeStereoFrames(Read(wav));
    }

    [Theory]
    [InlineData(0xFFFFFFFFu)]
    [InlineData(0x7FFFF000u)] // what sox writes to a pipe
    [InlineData(0u)]
    public void A_streaming_placeholder_data_size_means_to_the_end_of_the_file(uint placeholder)
    {
        byte[] wav = new WavBuilder { RiffSize = placeholder }
            .Chunk("fmt ", StereoFormat)
            .Data(ThreeStereoFrames, declaredSize: placeholder)
            .ToArray();

        AssertThreeStereoFrames(Read(wav));
    }

    [Fact]
    public void A_streamed_file_cut_inside_a_frame_drops_the_partial_frame()
    {
        byte[] wav = new WavBuilder { RiffSize = 0xFFFFFFFF }
            .Chunk("fmt ", StereoFormat)
            .Data([.. ThreeStereoFrames, .. Pcm16(4000)], declaredSize: 0xFFFFFFFF)
            .ToArray();

        AssertThreeStereoFrames(Read(wav));
    }

    [Fact]
    public void An_empty_data_chunk_in_a_finalised_file_stays_empty_even_with_chunks_after_it()
    {
        byte[] wav = new WavBuilder()
            .Chunk("fmt ", StereoFormat)
            .Data([])
            .Chunk("LIST", [.. "INFOISFT"u8, .. WavBuilder.UInt32(4), .. "sox\0"u8])
            .ToArray();

        AudioClip clip = Read(wav);

        Assert.Equal(2, clip.ChannelCount);
        Assert.Equal(0, clip.Length);
    }

    [Fact]
    public void Reads_from_a_stream_that_cannot_seek()
    {
        byte[] wav = new WavBuilder().Chunk("junk", [9]).Chunk("fmt ", StereoFormat).Data(ThreeStereoFrames).ToArray();

        AssertThreeStereoFrames(WavFile.Read(new ForwardOnlyStream(new MemoryStream(wav)), "pipe"));
    }

    [Fact]
    public void Reads_from_the_stream_position_onwards()
    {
        byte[] wav = new WavBuilder().Chunk("fmt ", StereoFormat).Data(ThreeStereoFrames).ToArray();
        var stream = new MemoryStream([0x11, 0x22, 0x33, .. wav]) { Position = 3 };

        AssertThreeStereoFrames(WavFile.Read(stream, "embedded.wav"));
    }

    [Fact]
    public void Reads_a_file_by_path()
    {
        using var folder = new TempFolder();
        string path = folder.File("three.wav");
        File.WriteAllBytes(path, new WavBuilder().Chunk("fmt ", StereoFormat).Data(ThreeStereoFrames).ToArray());

        AssertThreeStereoFrames(WavFile.Read(path));
    }

    private static AudioClip Read(byte[] wav) => WavFile.Read(new MemoryStream(wav), "test.wav");

    private static void AssertThreeStereoFrames(AudioClip clip)
    {
        Assert.Equal(32000, clip.SampleRate);
        Assert.Equal([1000 / 32768f, 2000 / 32768f, 3000 / 32768f], clip.Channels[0]);
        Assert.Equal([-1000 / 32768f, -2000 / 32768f, -3000 / 32768f], clip.Channels[1]);
    }

    private static byte[] Pcm16(params short[] samples) =>
        [.. samples.SelectMany(sample => WavBuilder.UInt16((ushort)sample))];
}
