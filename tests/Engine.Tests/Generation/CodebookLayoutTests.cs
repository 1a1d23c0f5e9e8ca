using MusicGen.Engine.Generation;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Generation;

public class CodebookLayoutTests
{
    [Fact]
    public void Stereo_codebooks_interleave_by_channel()
    {
        var layout = new CodebookLayout(Channels: 2, CodebooksPerChannel: 4);
        Assert.Equal(8, layout.Codebooks);
        // L0 R0 L1 R1 …: decoder codebook k · C + c.
        Assert.Equal([0, 2, 4, 6], Enumerable.Range(0, 4).Select(k => layout.DecoderCodebook(0, k)));
        Assert.Equal([1, 3, 5, 7], Enumerable.Range(0, 4).Select(k => layout.DecoderCodebook(1, k)));

        // Codes [1, K, 1] whose value is the decoder codebook land by channel as [1, C, K', 1].
        var byChannel = layout.ToChannels(Enumerable.Range(0, 8).ToArray(), batch: 1, frames: 1);
        Assert.Equal([0, 2, 4, 6, 1, 3, 5, 7], byChannel);
    }

    [Fact]
    public void Mono_is_the_identity_and_both_directions_invert_each_other()
    {
        Properties.ForAll(Properties.Ints((1, 2), (1, 4), (1, 3), (0, 5), (0, 1000)), s =>
        {
            var (channels, perChannel, batch, frames, seed) = (s[0], s[1], s[2], s[3], s[4]);
            var layout = new CodebookLayout(channels, perChannel);
            var random = new Random(seed);
            var codes = Enumerable.Range(0, batch * layout.Codebooks * frames).Select(_ => random.Next(2048)).ToArray();
            Assert.Equal(codes, layout.ToDecoder(layout.ToChannels(codes, batch, frames), batch, frames));
            Assert.Equal(codes, layout.ToChannels(layout.ToDecoder(codes, batch, frames), batch, frames));
            if (channels == 1) Assert.Equal(codes, layout.ToChannels(codes, batch, frames));
        });
    }
}
