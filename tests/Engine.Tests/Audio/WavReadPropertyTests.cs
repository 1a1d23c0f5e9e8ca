using FsCheck;
using FsCheck.Fluent;
using MusicGen.Engine.Audio;

namespace MusicGen.Tests.Audio;

/// <summary>Every supported input encoding decodes exactly, whatever the channel count, length and chunk order.</summary>
public class WavReadPropertyTests
{
    private static readonly Config Checks = Config.QuickThrowOnFailure.WithMaxTest(150);

    public static TheoryData<InputEncoding> Encodings => [.. InputEncoding.All];

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Reads_every_sample_exactly(InputEncoding encoding)
    {
        Check.One(Checks, Prop.ForAll(EncodedClip.Generate(encoding).ToArbitrary(), clip =>
        {
            AudioClip read = WavFile.Read(new MemoryStream(clip.ToWav()), "generated.wav");
            AssertDecodedExactly(clip, read);
        }));
    }

    [Fact]
    public void Reads_chunks_in_any_order()
    {
        Gen<(EncodedClip, byte[])> files =
            from encoding in Gen.Elements(InputEncoding.All.ToArray())
            from clip in EncodedClip.Generate(encoding)
            from extraCount in Gen.Choose(0, 4)
            from others in Gen.ArrayOf(ExtraChunk, extraCount)
            from order in Gen.Shuffle([("fmt ", clip.FormatBody), ("data", clip.DataBody), .. others])
            select (clip, order.Aggregate(new WavBuilder(), (wav, chunk) => wav.Chunk(chunk.Item1, chunk.Item2)).ToArray());

        Check.One(Checks, Prop.ForAll(files.ToArbitrary(), file =>
        {
            (EncodedClip clip, byte[] wav) = file;
            AssertDecodedExactly(clip, WavFile.Read(new MemoryStream(wav), "shuffled.wav"));
        }));
    }

    /// <summary>An unknown chunk of 0–9 bytes, so odd sizes and their pad bytes come up often.</summary>
    private static Gen<(string, byte[])> ExtraChunk =>
        from id in Gen.Elements("LIST", "junk", "bext", "cue ", "PAD ", "id3 ")
        from size in Gen.Choose(0, 9)
        from body in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), size)
        select (id, body);

    private static void AssertDecodedExactly(EncodedClip expected, AudioClip actual)
    {
        Assert.Equal(expected.SampleRate, actual.SampleRate);
        Assert.Equal(expected.ChannelCount, actual.ChannelCount);
        Assert.Equal(expected.Length, actual.Length);
        float[][] expectedChannels = expected.Expected;
        for (int c = 0; c < expected.ChannelCount; c++)
            for (int i = 0; i < expected.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expectedChannels[c][i]) == BitConverter.SingleToInt32Bits(actual.Channels[c][i]),
                    $"{expected}: channel {c} sample {i} is {actual.Channels[c][i]:R}, expected {expectedChannels[c][i]:R}");
    }
}
