using FsCheck.Fluent;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Models;

/// <summary>Streaming decode and encode against the whole-sequence ones on the golden codecs, for chunkings FsCheck picks.</summary>
public class EncodecStreamingTests(ITestOutputHelper output)
{
    /// <summary>Streamed audio must match the whole decode within this fraction of its peak (issue 11).</summary>
    private const double RelativeTolerance = 1e-3;

    [Theory]
    [InlineData("encodec-32khz")]
    [InlineData("encodec-causal")]
    public void Streamed_audio_matches_the_whole_decode_for_any_chunking(string caseName)
    {
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden(caseName), "model"));
        var model = new EncodecModel(backend, checkpoint.Codec, checkpoint.CodecWeights);
        int quantizers = model.Quantizer.NumQuantizers, hop = model.Config.HopLength;
        double worst = 0;
        var chunkings = Properties.Ints((1, 2), (1, 90), (0, 1_000_000)).SelectMany(s =>
            Gen.ListOf(Gen.Choose(1, 30)).Select(chunks => (Batch: s[0], Frames: s[1], Seed: s[2], Chunks: chunks.ToArray())));
        Properties.ForAll(chunkings, c =>
        {
            var random = new Random(c.Seed);
            var codes = Enumerable.Range(0, c.Batch * quantizers * c.Frames).Select(_ => random.Next(model.Quantizer.CodebookSize)).ToArray();
            using var whole = model.Decode(codes, c.Batch, quantizers, c.Frames);
            float[] expected = whole.ToArray(); // [B, C, F · hop]
            int channels = whole.Dim(1);

            using var stream = new EncodecStreamingDecoder(model, c.Batch, quantizers);
            var streamed = Enumerable.Range(0, c.Batch * channels).Select(_ => new List<float>()).ToArray();
            int pushed = 0, chunk = 0;
            while (pushed < c.Frames)
            {
                int frames = Math.Min(c.Frames - pushed, c.Chunks.Length == 0 ? c.Frames : c.Chunks[chunk++ % c.Chunks.Length]);
                var part = Frames(codes, c.Batch * quantizers, c.Frames, pushed, frames);
                pushed += frames;
                Append(streamed, stream.Push(part, frames));
                // Audio is out as soon as its look-ahead is there (after the start-up frames): never later, never sooner.
                Assert.Equal(pushed < stream.FirstAudioFrames ? 0 : (pushed - stream.LatencyFrames) * hop, streamed[0].Count);
            }
            Append(streamed, stream.Finish());

            float peak = expected.Max(MathF.Abs);
            for (int row = 0; row < streamed.Length; row++)
            {
                Assert.Equal(c.Frames * hop, streamed[row].Count);
                for (int i = 0; i < streamed[row].Count; i++)
                    worst = Math.Max(worst, Math.Abs(streamed[row][i] - expected[row * c.Frames * hop + i]) / peak);
            }
            Assert.True(worst <= RelativeTolerance, $"streamed audio off by {worst:E2} of the peak");
        }, cases: 15);
        using var probe = new EncodecStreamingDecoder(model, 1, quantizers);
        Assert.True(probe.FirstAudioFrames <= model.Config.FrameRate / 2, $"first audio after {probe.FirstAudioFrames} frames");
        output.WriteLine($"{caseName}: first audio after {probe.FirstAudioFrames} frames, then {probe.LatencyFrames} frames behind; worst error {worst:E2} of the peak");
    }

    [Theory]
    [InlineData("encodec-32khz")]
    [InlineData("encodec-causal")]
    public void Streamed_codes_match_the_whole_encode_for_any_chunking(string caseName)
    {
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden(caseName), "model"));
        var model = new EncodecModel(backend, checkpoint.Codec, checkpoint.CodecWeights);
        int quantizers = model.Quantizer.NumQuantizers, hop = model.Config.HopLength, channels = model.Config.AudioChannels;
        long compared = 0, differing = 0;
        // Lengths from under a frame to 40 frames, in pieces from one sample to several frames.
        var chunkings = Properties.Ints((1, 2), (1, 40 * hop), (0, 1_000_000)).SelectMany(s =>
            Gen.ListOf(Gen.Choose(1, 6 * hop)).Select(chunks => (Batch: s[0], Samples: s[1], Seed: s[2], Chunks: chunks.ToArray())));
        Properties.ForAll(chunkings, c =>
        {
            float[] audio = RandomData.Uniform(c.Seed, c.Batch * channels * c.Samples, 0.5f); // [B, C, S]
            using var input = backend.Upload(audio, c.Batch, channels, c.Samples);
            int[] expected = model.Encode(input, quantizers); // [B, Q, F]
            int frames = (c.Samples + hop - 1) / hop;

            using var stream = new EncodecStreamingEncoder(model, c.Batch, quantizers);
            var streamed = Enumerable.Range(0, c.Batch * quantizers).Select(_ => new List<int>()).ToArray();
            int pushed = 0, chunk = 0;
            while (pushed < c.Samples)
            {
                int samples = Math.Min(c.Samples - pushed, c.Chunks.Length == 0 ? c.Samples : c.Chunks[chunk++ % c.Chunks.Length]);
                Append(streamed, stream.Push(Frames(audio, c.Batch * channels, c.Samples, pushed, samples), samples));
                pushed += samples;
            }
            Append(streamed, stream.Finish());

            for (int row = 0; row < streamed.Length; row++)
            {
                Assert.Equal(frames, streamed[row].Count);
                for (int f = 0; f < frames; f++)
                    if (streamed[row][f] != expected[row * frames + f]) differing++;
                compared += frames;
            }
        }, cases: 25);
        output.WriteLine($"{caseName}: {differing} of {compared} codes differ from the whole encode");
        Assert.Equal(0, differing);
    }

    private static T[] Frames<T>(T[] codes, int rows, int count, int start, int length)
    {
        var result = new T[rows * length];
        for (int r = 0; r < rows; r++) codes.AsSpan(r * count + start, length).CopyTo(result.AsSpan(r * length));
        return result;
    }

    private static void Append<T>(List<T>[] rows, T[] audio)
    {
        int length = audio.Length / rows.Length;
        for (int r = 0; r < rows.Length; r++) rows[r].AddRange(audio.AsSpan(r * length, length).ToArray());
    }
}
