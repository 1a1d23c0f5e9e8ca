using FsCheck.Fluent;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Models;

/// <summary>Streaming decode against the whole-sequence decode on the golden codecs, for chunkings FsCheck picks.</summary>
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

    private static int[] Frames(int[] codes, int rows, int count, int start, int length)
    {
        var result = new int[rows * length];
        for (int r = 0; r < rows; r++) codes.AsSpan(r * count + start, length).CopyTo(result.AsSpan(r * length));
        return result;
    }

    private static void Append(List<float>[] rows, float[] audio)
    {
        int length = audio.Length / rows.Length;
        for (int r = 0; r < rows.Length; r++) rows[r].AddRange(audio.AsSpan(r * length, length).ToArray());
    }
}
