using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using MusicGen.Engine.Audio;
using MusicGen.Loaders;

namespace MusicGen.Tests.Audio;

/// <summary>What the writer produces, that it reads back, and that a failed write leaves nothing behind.</summary>
public class WavWriteTests
{
    private static readonly Config Checks = Config.QuickThrowOnFailure.WithMaxTest(150);

    /// <summary>1–4 channels of 0, 1 or up to 300 samples, at any sample rate.</summary>
    private static Gen<AudioClip> Clips(Gen<float> samples) =>
        from channels in Gen.Choose(1, 4)
        from length in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Constant(1)), (6, Gen.Choose(2, 300)))
        from sampleRate in Gen.Choose(1, 384000)
        from data in Gen.ArrayOf(Gen.ArrayOf(samples, length), channels)
        select new AudioClip(sampleRate, data);

    [Fact]
    public void Float32_reads_back_bit_exactly()
    {
        Check.One(Checks, Prop.ForAll(Clips(ArbMap.Default.GeneratorFor<float>()).ToArbitrary(), clip =>
        {
            AudioClip read = RoundTrip(clip, SampleFormat.Float32);

            Assert.Equal(clip.SampleRate, read.SampleRate);
            Assert.Equal(clip.ChannelCount, read.ChannelCount);
            for (int c = 0; c < clip.ChannelCount; c++)
                Assert.Equal(clip.Channels[c].Select(BitConverter.SingleToInt32Bits), read.Channels[c].Select(BitConverter.SingleToInt32Bits));
        }));
    }

    [Fact]
    public void Pcm16_reads_back_within_half_a_quantisation_step_of_the_clamped_input()
    {
        Gen<float> samples = Gen.Choose(-1_500_000, 1_500_000).Select(n => n / 1_000_000f);
        Check.One(Checks, Prop.ForAll(Clips(samples).ToArbitrary(), clip =>
        {
            AudioClip read = RoundTrip(clip, SampleFormat.Pcm16);

            Assert.Equal(clip.SampleRate, read.SampleRate);
            Assert.Equal(clip.ChannelCount, read.ChannelCount);
            for (int c = 0; c < clip.ChannelCount; c++)
                for (int i = 0; i < clip.Length; i++)
                {
                    double code = read.Channels[c][i] * 32768.0; // the reader divides by 2^15
                    double target = Math.Clamp(clip.Channels[c][i], -1.0, 1.0) * 32767;
                    Assert.True(Math.Abs(code - target) <= 0.5 + 1e-3, $"sample {clip.Channels[c][i]:R} was written as {code}");
                }
        }));
    }

    [Fact]
    public void Pcm16_clamps_and_rounds_to_nearest()
    {
        float[] samples = [1.5f, -1.5f, 1f, -1f, 0f, 0.4f / 32767, 0.6f / 32767, -0.6f / 32767, 0.5f, float.NaN];
        short[] expected = [32767, -32767, 32767, -32767, 0, 0, 1, -1, 16384, 0];

        byte[] wav = Write(new AudioClip(32000, [samples]), SampleFormat.Pcm16);

        Assert.Equal(44 + 2 * samples.Length, wav.Length);
        short[] codes = [.. Enumerable.Range(0, samples.Length).Select(i => BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(44 + 2 * i)))];
        Assert.Equal(expected, codes);
    }

    [Fact]
    public void Pcm16_header_is_canonical()
    {
        byte[] wav = Write(new AudioClip(32000, [new float[5], new float[5]]), SampleFormat.Pcm16);

        Assert.Equal("RIFF", Ascii(wav, 0));
        Assert.Equal((uint)(wav.Length - 8), UInt32(wav, 4));
        Assert.Equal("WAVE", Ascii(wav, 8));
        Assert.Equal("fmt ", Ascii(wav, 12));
        Assert.Equal(16u, UInt32(wav, 16));
        Assert.Equal(1, UInt16(wav, 20)); // PCM
        Assert.Equal(2, UInt16(wav, 22));
        Assert.Equal(32000u, UInt32(wav, 24));
        Assert.Equal(128000u, UInt32(wav, 28)); // bytes per second
        Assert.Equal(4, UInt16(wav, 32)); // block align
        Assert.Equal(16, UInt16(wav, 34));
        Assert.Equal("data", Ascii(wav, 36));
        Assert.Equal(20u, UInt32(wav, 40));
        Assert.Equal(44 + 20, wav.Length);
    }

    [Fact]
    public void Float32_header_has_format_tag_3_and_a_fact_chunk()
    {
        byte[] wav = Write(new AudioClip(48000, [new float[7]]), SampleFormat.Float32);

        Assert.Equal((uint)(wav.Length - 8), UInt32(wav, 4));
        Assert.Equal(18u, UInt32(wav, 16));
        Assert.Equal(3, UInt16(wav, 20)); // IEEE float
        Assert.Equal(1, UInt16(wav, 22));
        Assert.Equal(48000u, UInt32(wav, 24));
        Assert.Equal(192000u, UInt32(wav, 28));
        Assert.Equal(4, UInt16(wav, 32));
        Assert.Equal(32, UInt16(wav, 34));
        Assert.Equal(0, UInt16(wav, 36)); // cbSize
        Assert.Equal("fact", Ascii(wav, 38));
        Assert.Equal(4u, UInt32(wav, 42));
        Assert.Equal(7u, UInt32(wav, 46)); // sample frames
        Assert.Equal("data", Ascii(wav, 50));
        Assert.Equal(28u, UInt32(wav, 54));
        Assert.Equal(58 + 28, wav.Length);
    }

    [Fact]
    public void Writes_a_file_by_path_replacing_an_existing_one()
    {
        using var folder = new TempFolder();
        string path = folder.File("out.wav");
        File.WriteAllText(path, "old content");
        var clip = new AudioClip(32000, [[0.25f, -0.5f]]);

        WavFile.Write(path, clip, SampleFormat.Float32);

        Assert.Equal([0.25f, -0.5f], WavFile.Read(path).Channels[0]);
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Writing_into_a_missing_folder_is_refused_without_creating_it()
    {
        using var folder = new TempFolder();
        string missing = Path.Combine(folder.Path, "no-such-folder");

        var error = Assert.Throws<MusicGenException>(() =>
            WavFile.Write(Path.Combine(missing, "out.wav"), new AudioClip(32000, [[0f]]), SampleFormat.Pcm16));

        Assert.Contains("does not exist", error.Message);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void A_clip_too_long_for_WAV_is_refused_leaving_the_previous_file_and_no_temporary()
    {
        using var folder = new TempFolder();
        string path = folder.File("out.wav");
        File.WriteAllText(path, "previous take");
        // 1100 channels of 2^20 samples are 4.4 GB as float32; sharing one array keeps the test small.
        float[] shared = new float[1 << 20];
        var clip = new AudioClip(32000, [.. Enumerable.Repeat(shared, 1100)]);

        var error = Assert.Throws<MusicGenException>(() => WavFile.Write(path, clip, SampleFormat.Float32));

        Assert.StartsWith($"{path}: ", error.Message);
        Assert.Contains("4 GiB", error.Message);
        Assert.Equal([path], Directory.GetFiles(folder.Path));
        Assert.Equal("previous take", File.ReadAllText(path));
    }

    [Fact]
    public void A_write_onto_a_folder_is_refused_and_leaves_no_file_behind()
    {
        using var folder = new TempFolder();
        string path = folder.File("taken.wav");
        Directory.CreateDirectory(path);

        var error = Assert.Throws<MusicGenException>(() => WavFile.Write(path, new AudioClip(32000, [[0.1f]]), SampleFormat.Pcm16));

        Assert.StartsWith($"{path}: is a folder", error.Message);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Too_many_channels_for_WAV_are_refused()
    {
        var clip = new AudioClip(32000, [.. Enumerable.Repeat(new float[1], 20000)]);

        var error = Assert.Throws<MusicGenException>(() => WavFile.Write(new MemoryStream(), clip, SampleFormat.Float32));

        Assert.Contains("20000 channels", error.Message);
    }

    private static byte[] Write(AudioClip clip, SampleFormat format)
    {
        var stream = new MemoryStream();
        WavFile.Write(stream, clip, format);
        return stream.ToArray();
    }

    private static AudioClip RoundTrip(AudioClip clip, SampleFormat format) =>
        WavFile.Read(new MemoryStream(Write(clip, format)), "round-trip.wav");

    private static string Ascii(byte[] bytes, int offset) => System.Text.Encoding.ASCII.GetString(bytes, offset, 4);

    private static ushort UInt16(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset));

    private static uint UInt32(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
}
