using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Codec;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>Audio read a range at a time (WAV files, resampling on the fly) and coded in pieces, against the whole.</summary>
public class AudioSourceTests
{
    [Fact]
    public void Any_range_of_a_wav_file_is_that_range_of_the_whole_read()
    {
        using var folder = new TempFolder();
        var clip = new AudioClip(22050, [RandomData.Uniform(1, 5000), RandomData.Uniform(2, 5000)]);
        WavFile.Write(folder.File("a.wav"), clip, SampleFormat.Pcm16);
        var whole = WavFile.Read(folder.File("a.wav"));
        using var source = WavSource.Open(folder.File("a.wav"));
        Assert.Equal((22050, 2, 5000L), (source.SampleRate, source.ChannelCount, source.Length));
        Properties.ForAll(Properties.Ints((0, 5000), (0, 5000)), range =>
        {
            int start = Math.Min(range[0], range[1]), count = Math.Abs(range[1] - range[0]);
            var part = source.Read(start, count);
            for (int c = 0; c < 2; c++) Assert.Equal(whole.Channels[c].AsSpan(start, count).ToArray(), part[c]);
        });
    }

    [Fact]
    public void A_non_finite_sample_is_reported_at_its_position_in_the_file()
    {
        using var folder = new TempFolder();
        var samples = new float[3000];
        samples[2500] = float.PositiveInfinity;
        File.WriteAllBytes(folder.File("inf.wav"), new WavBuilder().Fmt(3, 1, 32000, 32).Data(System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples.AsSpan()).ToArray()).ToArray());
        using var source = WavSource.Open(folder.File("inf.wav"));
        Assert.Equal(1000, source.Read(0, 1000)[0].Length);

        var error = Assert.Throws<InputFileException>(() => source.Read(2000, 1000));
        Assert.Equal($"{folder.File("inf.wav")}: the audio holds a non-finite value (Infinity at position 2500 of 3000)", error.Message);
    }

    [Fact]
    public void Any_range_resampled_on_the_fly_is_that_range_of_the_whole_resample()
    {
        var input = new AudioClip(44100, [RandomData.Uniform(3, 9001)]);
        float[] whole = Resampler.Resample(input, 32000).Channels[0];
        using var resampled = new ResampledAudio(input, 32000);
        Assert.Equal(whole.Length, resampled.Length);
        Properties.ForAll(Properties.Ints((0, whole.Length), (0, whole.Length)), range =>
        {
            int start = Math.Min(range[0], range[1]), count = Math.Abs(range[1] - range[0]);
            Assert.Equal(whole.AsSpan(start, count).ToArray(), resampled.Read(start, count)[0]);
        });
    }

    [Theory]
    [InlineData("musicgen-mono")]
    [InlineData("musicgen-stereo")]
    public void Audio_longer_than_a_piece_is_coded_in_pieces_with_the_codes_of_a_whole_encode(string caseName)
    {
        // 10 s of stereo at 44.1 kHz: three pieces at the codec's 32 kHz, mixed to mono or coded per channel.
        using var folder = new TempFolder();
        var clip = new AudioClip(44100, [RandomData.Uniform(4, 441_000, 0.5f), RandomData.Uniform(5, 441_000, 0.5f)]);
        WavFile.Write(folder.File("long.wav"), clip, SampleFormat.Float32);
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden(caseName), "model"));
        using var codec = new AudioCodec(backend, checkpoint);

        AudioCodes whole = codec.Encode(clip);
        using var source = AudioFile.Open(folder.File("long.wav"));
        AudioCodes pieces = codec.Encode(source);

        Assert.True(clip.Length * 32000L / 44100 > 2 * AudioCodec.PieceSamples);
        Assert.Equal((whole.Channels, whole.Codebooks, whole.Frames, whole.Samples), (pieces.Channels, pieces.Codebooks, pieces.Frames, pieces.Samples));
        Assert.Equal(whole.Values, pieces.Values);
    }

    [Theory]
    [InlineData("musicgen-mono")]
    [InlineData("musicgen-stereo")]
    public void Codes_longer_than_a_piece_are_decoded_in_pieces_to_the_audio_of_a_whole_decode(string caseName)
    {
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden(caseName), "model"));
        using var codec = new AudioCodec(backend, checkpoint);
        int frames = 2 * AudioCodec.PieceSamples / codec.Model.Config.HopLength + 37, samples = frames * codec.Model.Config.HopLength - 100;
        var random = new Random(6);
        var values = Enumerable.Range(0, codec.Channels * 4 * frames).Select(_ => random.Next(codec.Model.Config.CodebookSize)).ToArray();
        var codes = new AudioCodes(codec.Channels, 4, frames, values, 32000, 50, samples);
        using var whole = codec.Model.Decode(values, codec.Channels, 4, frames); // [C, 1, F · hop]
        float[] expected = whole.ToArray();

        var pieces = new List<AudioClip>();
        codec.Decode(codes, pieces.Add);

        Assert.True(pieces.Count >= 3, $"{pieces.Count} pieces");
        Assert.Equal(samples, codec.DecodedLength(codes));
        for (int c = 0; c < codec.Channels; c++)
        {
            float[] decoded = pieces.SelectMany(p => p.Channels[c]).ToArray();
            Assert.Equal(samples, decoded.Length);
            float peak = expected.Max(MathF.Abs);
            for (int i = 0; i < samples; i++)
                Assert.True(Math.Abs(decoded[i] - expected[c * frames * 640 + i]) <= 1e-3 * peak, $"channel {c}, sample {i}");
        }
    }
}
