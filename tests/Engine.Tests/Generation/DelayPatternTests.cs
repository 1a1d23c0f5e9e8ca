using MusicGen.Engine.Generation;
using MusicGen.Verification;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Generation;

public class DelayPatternTests
{
    [Fact]
    public void Every_codebook_is_delayed_by_its_depth_and_reverting_gives_the_codes_back()
    {
        Properties.ForAll(Properties.Ints((1, 3), (1, 4), (0, 1), (0, 12), (0, 1000)), s =>
        {
            var (batch, depth, stereo, extra, seed) = (s[0], s[1], s[2] == 1, s[3], s[4]);
            int channels = stereo ? 2 : 1, codebooks = depth * channels, rows = batch * codebooks, pad = 2048;
            int maxLength = 2 * depth + extra;
            var pattern = DelayPattern.Build(Enumerable.Repeat(pad, rows).ToArray(), rows, codebooks, channels, maxLength, pad);
            Assert.Equal(1, pattern.StartLength);
            Assert.All(pattern.StartIds(), id => Assert.Equal(pad, id));

            var random = new Random(seed);
            var sequence = new int[rows * maxLength];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < maxLength; j++)
                    sequence[r * maxLength + j] = pattern.Forced(r, j) == -1 ? random.Next(pad) : pattern.Forced(r, j);

            var codes = pattern.Revert(sequence, out int frames);
            Assert.Equal(maxLength - depth, frames);
            for (int r = 0; r < rows; r++)
            {
                int delay = r % codebooks / channels;
                for (int f = 0; f < frames; f++) Assert.Equal(sequence[r * maxLength + 1 + delay + f], codes[r * frames + f]);
                for (int j = 0; j <= delay; j++) Assert.Equal(pad, pattern.Forced(r, j));
                for (int j = maxLength - depth + 1 + delay; j < maxLength; j++) Assert.Equal(pad, pattern.Forced(r, j));
            }
        });
    }

    [Fact]
    public void A_sequence_too_short_for_the_pattern_is_not_delayed_as_in_the_reference()
    {
        Properties.ForAll(Properties.Ints((2, 4), (0, 1), (1, 10)), s =>
        {
            var (depth, stereo, length) = (s[0], s[1] == 1, s[2]);
            int channels = stereo ? 2 : 1, codebooks = depth * channels, rows = codebooks, pad = 2048;
            int maxLength = Math.Min(length, 2 * depth - 3) + 1; // below 2 · depth − 1
            var pattern = DelayPattern.Build(Enumerable.Repeat(pad, rows).ToArray(), rows, codebooks, channels, maxLength, pad);
            Assert.Equal(1, pattern.StartLength);
            Assert.All(pattern.StartIds(), id => Assert.Equal(pad, id));
            var sequence = new int[rows * maxLength];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < maxLength; j++)
                {
                    Assert.Equal(j == 0 ? pad : -1, pattern.Forced(r, j));
                    sequence[r * maxLength + j] = j == 0 ? pad : r * 100 + j;
                }
            var codes = pattern.Revert(sequence, out int frames);
            Assert.Equal(maxLength - 1, frames);
            Assert.Equal(1, codes[0]);
        });
    }

    [Theory]
    [InlineData("musicgen-mono", 1)]
    [InlineData("musicgen-stereo", 2)]
    public void The_pattern_pads_exactly_where_the_reference_sequence_does(string caseName, int channels)
    {
        using var golden = GoldenCase.Open(TestPaths.Golden(caseName));
        using var checkpoint = MusicGen.Loaders.Checkpoints.CheckpointFolder.Open(golden.ModelFolder);
        int pad = checkpoint.RequireMusicgen().Decoder.PadTokenId;
        int[] shape = golden.Shape("generate.delayed_ids");
        var sequence = golden.Int("generate.delayed_ids").Select(v => (int)v).ToArray();
        int rows = shape[0], length = shape[1], codebooks = golden.Shape("generate.codes")[1];
        var pattern = DelayPattern.Build(Enumerable.Repeat(pad, rows).ToArray(), rows, codebooks, channels, length, pad);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < length; j++)
                Assert.Equal(pattern.Forced(r, j) != -1, sequence[r * length + j] == pad);
        var codes = pattern.Revert(sequence, out int frames);
        Assert.Equal(golden.Int("generate.codes").Select(v => (int)v), codes);
        Assert.Equal(golden.Shape("generate.codes")[2], frames);
    }
}
