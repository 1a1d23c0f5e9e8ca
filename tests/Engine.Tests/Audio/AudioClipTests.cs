using MusicGen.Engine.Audio;
using MusicGen.Loaders;

namespace MusicGen.Tests.Audio;

public class AudioClipTests
{
    private static readonly AudioClip Stereo = new(32000, [[0.5f, 1f, -0.25f, 0.1f], [0.25f, -1f, -0.75f, 0.2f]]);

    [Fact]
    public void Reports_its_shape_and_duration()
    {
        Assert.Equal(2, Stereo.ChannelCount);
        Assert.Equal(4, Stereo.Length);
        Assert.Equal(4 / 32000.0, Stereo.Seconds);
    }

    [Fact]
    public void ToMono_is_the_mean_of_the_channels()
    {
        AudioClip mono = Stereo.ToMono();

        Assert.Equal(32000, mono.SampleRate);
        Assert.Equal([0.375f, 0f, -0.5f, (0.1f + 0.2f) / 2], Assert.Single(mono.Channels));
    }

    [Fact]
    public void ToMono_averages_any_number_of_channels()
    {
        var three = new AudioClip(16000, [[0.3f, 3f], [0.6f, 0f], [0.9f, -3f]]);

        Assert.Equal([(0.3f + 0.6f + 0.9f) / 3, 0f], three.ToMono().Channels[0]);
    }

    [Fact]
    public void WithChannels_of_the_same_count_is_the_clip_itself()
    {
        Assert.Same(Stereo, Stereo.WithChannels(2));
    }

    [Fact]
    public void WithChannels_1_is_the_mono_mean()
    {
        Assert.Equal(Stereo.ToMono().Channels[0], Stereo.WithChannels(1).Channels[0]);
    }

    [Fact]
    public void WithChannels_2_from_mono_duplicates_into_independent_channels()
    {
        var mono = new AudioClip(32000, [[0.1f, -0.2f]]);

        AudioClip stereo = mono.WithChannels(2);

        Assert.Equal(mono.Channels[0], stereo.Channels[0]);
        Assert.Equal(mono.Channels[0], stereo.Channels[1]);
        Assert.NotSame(stereo.Channels[0], stereo.Channels[1]);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    public void WithChannels_refuses_other_conversions(int channelCount)
    {
        var error = Assert.Throws<MusicGenException>(() => Stereo.WithChannels(channelCount));

        Assert.Contains($"2-channel audio to {channelCount} channels", error.Message);
    }

    [Fact]
    public void Refuses_channels_of_different_lengths()
    {
        Assert.Throws<ArgumentException>(() => new AudioClip(32000, [new float[3], new float[4]]));
    }

    [Fact]
    public void Refuses_no_channels_and_a_non_positive_sample_rate()
    {
        Assert.Throws<ArgumentException>(() => new AudioClip(32000, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudioClip(0, [new float[1]]));
    }
}
