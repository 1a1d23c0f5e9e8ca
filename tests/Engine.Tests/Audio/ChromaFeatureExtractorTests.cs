using FsCheck.Fluent;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Verification;
using MusicGen.Loaders;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Audio;

public class ChromaFeatureExtractorTests
{
    private static readonly ChromaFeatureExtractor Default = new();

    private readonly ITestOutputHelper _output;

    public ChromaFeatureExtractorTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// transformers' MusicgenMelodyFeatureExtractor on the golden cases (silence, one sample, shorter than n_fft,
    /// odd centre padding, exactly n_fft and n_samples, truncation, batches padded to the longest, stereo, 44.1 kHz
    /// input, a chunk_length of 1, and the melody case's input_features): the one-hot equals the reference exactly,
    /// and the normalized chroma before it is within 1e-5 (measured ≤ 4.8e-6; torch computes it in float32).
    /// </summary>
    [Theory]
    [InlineData("chroma-edges")]
    [InlineData("chroma-30s")]
    [InlineData("chroma-chunk1")]
    [InlineData("musicgen-melody")]
    public void Matches_transformers_on_the_golden_cases(string caseName)
    {
        using var backend = new CpuBackend();
        var report = new Verifier(backend, checks: [], signalChecks: [new ChromaCheck()]).Run(TestPaths.Golden(caseName));

        Assert.NotEmpty(report.Rows);
        foreach (var row in report.Rows)
        {
            _output.WriteLine($"{row.Name} {row.Shape} max error {row.MaxAbsError:E2} {row.Note}");
            Assert.True(row.Passed, $"{row.Name}: {row.Note}");
            Assert.True(row.MaxAbsError <= (row.Name.EndsWith(".chroma", StringComparison.Ordinal) ? 1e-5 : 0), $"{row.Name}: max error {row.MaxAbsError}");
        }
        Assert.Contains(report.Rows, r => r.Name.EndsWith("input_features", StringComparison.Ordinal));
    }

    /// <summary>A pure tone of any pitch class from octave 2 to 6 (65 Hz to 2 kHz), at any level and phase, is that pitch class in every frame.</summary>
    [Fact]
    public void A_pure_tone_is_its_pitch_class_in_every_frame()
    {
        Properties.ForAll(Properties.Ints((0, 11), (2, 6), (1, 100), (0, 628)), values =>
        {
            int pitchClass = values[0], octave = values[1];
            double frequency = 440 * Math.Pow(2, octave - 4 + (pitchClass - 9) / 12.0); // C first: A4 is pitch class 9 of octave 4
            float amplitude = values[2] / 100f, phase = values[3] / 100f;
            float[] tone = Enumerable.Range(0, Default.SampleRate)
                .Select(i => amplitude * MathF.Sin((float)(2 * Math.PI * frequency * i / Default.SampleRate) + phase)).ToArray();

            int[] features = Default.Extract([tone], out int frames);

            Assert.Equal(1 + Default.SampleRate / Default.HopLength, frames);
            for (int frame = 0; frame < frames; frame++)
                Assert.True(features[frame * 12 + pitchClass] == 1, $"{frequency:F1} Hz: frame {frame} is not pitch class {pitchClass}");
        }, cases: 30);
    }

    [Fact]
    public void Silence_is_bin_0_in_every_frame()
    {
        int[] features = Default.Extract([new float[20000], new float[3]], out int frames);

        Assert.Equal(1 + 20000 / Default.HopLength, frames);
        Assert.Equal(2 * frames * 12, features.Length);
        for (int frame = 0; frame < 2 * frames; frame++)
            Assert.Equal([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], features.AsSpan(frame * 12, 12).ToArray());
    }

    [Fact]
    public void Only_the_first_chunk_length_seconds_count()
    {
        var extractor = new ChromaFeatureExtractor(chunkLength: 1);
        float[] longWaveform = RandomData.Uniform(4, 3 * extractor.SampleRate / 2);

        int[] features = extractor.Extract([longWaveform], out int frames);

        Assert.Equal(extractor.SampleRate, extractor.MaxSamples);
        Assert.Equal(extractor.Extract([longWaveform[..extractor.MaxSamples]], out int truncatedFrames), features);
        Assert.Equal(truncatedFrames, frames);
    }

    [Fact]
    public void A_clip_is_resampled_with_the_extractors_filter_then_averaged_to_mono()
    {
        float[] left = RandomData.Uniform(5, 30000), right = RandomData.Uniform(6, 30000);
        var clip = new AudioClip(48000, [left, right]);

        float[] mono = Default.MonoWaveform(clip);

        float[] expectedLeft = Resampler.Resample(left, 48000, 32000, 24, 0.945), expectedRight = Resampler.Resample(right, 48000, 32000, 24, 0.945);
        Assert.Equal(expectedLeft.Zip(expectedRight, (l, r) => (l + r) / 2), mono);
    }

    [Fact]
    public void Reads_its_settings_from_preprocessor_config_with_the_class_defaults_for_the_rest()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("preprocessor_config.json"),
            """{"feature_extractor_type": "MusicgenMelodyFeatureExtractor", "chunk_length": 2, "hop_length": 2048, "n_samples": 5}""");

        var extractor = ChromaFeatureExtractor.FromFolder(folder.Path);

        Assert.Equal((32000, 16384, 2048, 2, 12, 64000),
            (extractor.SampleRate, extractor.FftSize, extractor.HopLength, extractor.ChunkLength, extractor.NumChroma, extractor.MaxSamples));
    }

    [Fact]
    public void A_checkpoint_without_preprocessor_config_is_refused()
    {
        using var folder = new TempFolder();

        var error = Assert.Throws<MusicGenException>(() => ChromaFeatureExtractor.FromFolder(folder.Path));

        Assert.Contains("no preprocessor_config.json", error.Message);
    }

    [Theory]
    [InlineData("""{"n_fft": 16383}""", "n_fft must be even")]
    [InlineData("""{"hop_length": 0}""", "field 'hop_length' is 0, expected an integer from 256 to 1048576")]
    [InlineData("""{"n_fft": 1073741824}""", "field 'n_fft' is 1073741824, expected an integer from 2 to 65536")]
    [InlineData("""{"n_fft": "big"}""", "n_fft")]
    public void Bad_settings_are_refused_naming_the_file(string json, string expected)
    {
        using var folder = new TempFolder();
        string path = folder.File("preprocessor_config.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<MusicGenException>(() => ChromaFeatureExtractor.FromFolder(folder.Path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }
}
