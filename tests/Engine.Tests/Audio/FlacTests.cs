using FsCheck;
using FsCheck.Fluent;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Audio.Flac;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>
/// The FLAC encoder and decoder: round trips of arbitrary PCM, Debian's flac checking and decoding what we write,
/// and our decoder reading what Debian's flac writes (LPC subframes included), all compared bit for bit.
/// </summary>
public class FlacTests
{
    /// <summary>The PCM a float clip is meant to be at <paramref name="bits"/>: the quantized integers.</summary>
    private static int[][] Pcm(AudioClip clip, int bits) =>
        [.. clip.Channels.Select(c => c.Select(x => SampleFormats.Quantize(x, bits)).ToArray())];

    private static byte[] Encode(AudioClip clip, SampleFormat format, bool seekable = true)
    {
        var stream = new MemoryStream();
        Stream target = seekable ? stream : new ForwardOnlyStream(stream);
        using (var writer = new FlacWriter(target, clip.SampleRate, clip.ChannelCount, format))
        {
            // Uneven chunks, as a generation hands them out.
            for (int at = 0, size = 1; at < clip.Length; at += size, size = size * 3 % 5003 + 1)
                writer.Write([.. clip.Channels.Select(c => c[at..Math.Min(c.Length, at + size)])]);
            writer.Finish();
        }
        return stream.ToArray();
    }

    private static AudioClip Decode(byte[] flac) => FlacReader.Read(new MemoryStream(flac), "test.flac", AudioFile.DefaultMaxSeconds);

    /// <summary>Signals that exercise every subframe the encoder picks: silence, constants, smooth tones, full-scale noise, clipping.</summary>
    private static Gen<float[]> Signal(int length) => Gen.OneOf(
        Gen.Constant(new float[length]),
        Gen.Choose(-1000, 1000).Select(level => Enumerable.Repeat(level / 1000f, length).ToArray()),
        Gen.Choose(1, 500).Select(period => Enumerable.Range(0, length).Select(i => 0.8f * MathF.Sin(i * 2 * MathF.PI / period)).ToArray()),
        Gen.Choose(0, 1 << 20).Select(seed => RandomData.Uniform(seed, length, 1.2f)),
        Gen.Choose(0, 1 << 20).Select(seed => RandomData.Uniform(seed, length).Select(x => x > 0.5f ? 1f : x < -0.5f ? -1f : x * 0.001f).ToArray()));

    [Fact]
    public void Arbitrary_pcm_round_trips_bit_exactly()
    {
        var clips =
            from channels in Gen.Choose(1, 3)
            from length in Gen.Frequency((1, Gen.Choose(0, 20)), (3, Gen.Choose(21, 3 * FlacEncoder.BlockSize + 17)))
            from rate in Gen.Elements(32000, 44100, 48000, 22050, 12345, 96000, 1000)
            from signals in Gen.ArrayOf(Signal(length), channels)
            from stereoTwin in Gen.Elements(false, true)
            from format in Gen.Elements(SampleFormat.Pcm16, SampleFormat.Pcm24)
            select (Clip: new AudioClip(rate, channels == 2 && stereoTwin ? [signals[0], signals[0]] : signals), Format: format);

        Properties.ForAll(clips, c =>
        {
            int bits = c.Format.Bits();
            var decoded = Decode(Encode(c.Clip, c.Format));
            Assert.Equal(c.Clip.SampleRate, decoded.SampleRate);
            Assert.Equal(Dequantized(c.Clip, bits), decoded.Channels);
        }, cases: 60);
    }

    /// <summary>The floats a reader gets back from the PCM we meant: the integers over 2^(bits−1).</summary>
    private static float[][] Dequantized(AudioClip clip, int bits) =>
        [.. Pcm(clip, bits).Select(c => c.Select(v => SampleFormats.Dequantize(v, bits)).ToArray())];

    [Fact]
    public void The_rice_parameter_is_the_cheapest_of_all()
    {
        var residuals =
            from magnitude in Gen.Choose(0, 28)
            from length in Gen.Choose(1, 300)
            from values in Gen.ArrayOf(Gen.Choose(0, int.MaxValue).Select(v => (uint)(v % ((1L << magnitude) + 1))), length)
            select values;
        Properties.ForAll(residuals, folded =>
        {
            int k = FlacEncoder.BestRiceParameter(folded, out long bits);
            long cheapest = Enumerable.Range(0, FlacEncoder.MaxRiceParameter + 1).Min(p => FlacEncoder.RiceBits(folded, p));
            Assert.Equal(cheapest, bits);
            Assert.Equal(bits, FlacEncoder.RiceBits(folded, k));
        }, cases: 300);
    }

    public static TheoryData<SampleFormat, int, int> Layouts => new()
    {
        { SampleFormat.Pcm16, 2, 32000 },
        { SampleFormat.Pcm24, 2, 44100 },
        { SampleFormat.Pcm16, 1, 48000 },
        { SampleFormat.Pcm24, 1, 32000 },
    };

    /// <summary>Music-like test audio: tones, noise and a silent stretch, in several blocks.</summary>
    private static AudioClip Music(int rate, int channels, int seed)
    {
        int length = 2 * FlacEncoder.BlockSize + 1234;
        var noise = RandomData.Uniform(seed, length, 0.1f);
        return new AudioClip(rate, [.. Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, length)
            .Select(i => i is > 5000 and < 6000 ? 0f : 0.6f * MathF.Sin(i * (0.01f + 0.013f * c)) + noise[i] * (c + 1) / 2).ToArray())]);
    }

    [SkippableTheory]
    [MemberData(nameof(Layouts))]
    public void Debian_flac_tests_and_decodes_what_we_write_bit_exactly(SampleFormat format, int channels, int rate)
    {
        Skip.If(ReferenceTool.Find("flac") is null, "flac is not installed");
        using var folder = new TempFolder();
        string path = folder.File("ours.flac"), raw = folder.File("decoded.raw");
        var clip = Music(rate, channels, seed: channels * 10 + (int)format);
        AudioFile.Write(path, clip, format);

        ReferenceTool.Succeed("flac", "--silent", "--test", path);
        ReferenceTool.Succeed("flac", "--silent", "--decode", "--force-raw-format", "--endian=little", "--sign=signed", "-o", raw, path);

        int bits = format.Bits(), bytesPerSample = bits / 8;
        byte[] bytes = File.ReadAllBytes(raw);
        var expected = Pcm(clip, bits);
        Assert.Equal(clip.Length * channels * bytesPerSample, bytes.Length);
        for (int i = 0; i < clip.Length; i++)
            for (int c = 0; c < channels; c++)
            {
                int at = (i * channels + c) * bytesPerSample;
                int value = bits == 16 ? BitConverter.ToInt16(bytes, at) : bytes[at] | bytes[at + 1] << 8 | (sbyte)bytes[at + 2] << 16;
                Assert.True(value == expected[c][i], $"channel {c}, sample {i}: flac decoded {value}, we meant {expected[c][i]}");
            }
    }

    [SkippableTheory]
    [InlineData(SampleFormat.Pcm16, "-8")]
    [InlineData(SampleFormat.Pcm24, "-5")]
    [InlineData(SampleFormat.Pcm16, "-0")]
    public void Decodes_what_Debian_flac_writes_bit_exactly(SampleFormat format, string level)
    {
        Skip.If(ReferenceTool.Find("flac") is null, "flac is not installed");
        using var folder = new TempFolder();
        string wav = folder.File("source.wav"), flac = folder.File("theirs.flac");
        WavFile.Write(wav, Music(44100, 2, seed: 7), format);
        ReferenceTool.Succeed("flac", "--silent", level, "-o", flac, wav);

        var decoded = AudioFile.Read(flac, new FfmpegDecoder(searchPath: ""));

        var source = WavFile.Read(wav);
        Assert.Equal(source.SampleRate, decoded.SampleRate);
        Assert.Equal(source.Channels, decoded.Channels);
    }

    [SkippableFact]
    public void A_stream_to_a_pipe_leaves_length_and_checksum_unknown_and_flac_still_decodes_it()
    {
        Skip.If(ReferenceTool.Find("flac") is null, "flac is not installed");
        using var folder = new TempFolder();
        string path = folder.File("piped.flac");
        var clip = Music(32000, 2, seed: 3);
        File.WriteAllBytes(path, Encode(clip, SampleFormat.Pcm16, seekable: false));

        var info = FlacStreamInfo.Read(File.ReadAllBytes(path).AsSpan(8, FlacStreamInfo.Size));
        Assert.Equal(0, info.TotalSamples);
        Assert.All(info.Md5, b => Assert.Equal(0, b));
        ReferenceTool.Succeed("flac", "--silent", "--test", path);
        Assert.Equal(Dequantized(clip, 16), AudioFile.Read(path).Channels);
    }

    [Fact]
    public void A_file_states_its_length_frame_sizes_and_md5()
    {
        var clip = Music(32000, 1, seed: 5);
        var info = FlacStreamInfo.Read(Encode(clip, SampleFormat.Pcm24).AsSpan(8, FlacStreamInfo.Size));
        Assert.Equal(clip.Length, info.TotalSamples);
        Assert.Equal((32000, 1, 24), (info.SampleRate, info.Channels, info.BitsPerSample));
        Assert.InRange(info.MinFrameSize, 1, info.MaxFrameSize);
        Assert.Contains(info.Md5, b => b != 0);
    }

    [Fact]
    public void Damage_is_named_not_decoded_as_noise()
    {
        byte[] flac = Encode(Music(32000, 2, seed: 9), SampleFormat.Pcm16);
        byte[] flipped = (byte[])flac.Clone();
        flipped[flac.Length / 2] ^= 0x10;
        var crc = Assert.Throws<MusicGenException>(() => Decode(flipped));
        Assert.Matches("CRC|MD5|not a valid FLAC", crc.Message);

        var truncated = Assert.Throws<MusicGenException>(() => Decode(flac[..(flac.Length - 100)]));
        Assert.StartsWith("test.flac: truncated", truncated.Message);
    }

    [Fact]
    public void A_format_FLAC_cannot_hold_is_refused_naming_what_it_holds()
    {
        var error = Assert.Throws<InvalidRequestException>(() => AudioFormat.Flac.ResolveSampleFormat(SampleFormat.Float32));
        Assert.Equal("--format Float32: FLAC holds Pcm24 or Pcm16", error.Message);
    }
}
