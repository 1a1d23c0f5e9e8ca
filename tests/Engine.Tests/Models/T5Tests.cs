using MusicGen.Engine.Models.T5;

namespace MusicGen.Tests.Models;

public class T5Tests
{
    /// <summary>Where the bucket changes, for relative positions −300…300, as transformers' _relative_position_bucket gives it.</summary>
    private static readonly (int From, int Bucket)[] Bidirectional =
    [
        (-300, 15), (-90, 14), (-63, 13), (-45, 12), (-31, 11), (-22, 10), (-15, 9), (-11, 8), (-7, 7), (-6, 6), (-5, 5), (-4, 4),
        (-3, 3), (-2, 2), (-1, 1), (0, 0), (1, 17), (2, 18), (3, 19), (4, 20), (5, 21), (6, 22), (7, 23), (8, 24), (12, 25), (16, 26),
        (23, 27), (32, 28), (46, 29), (64, 30), (91, 31),
    ];

    private static readonly (int From, int Bucket)[] Unidirectional =
    [
        (-300, 31), (-112, 30), (-98, 29), (-86, 28), (-76, 27), (-66, 26), (-58, 25), (-51, 24), (-45, 23), (-39, 22), (-34, 21),
        (-30, 20), (-26, 19), (-23, 18), (-20, 17), (-18, 16), (-15, 15), (-14, 14), (-13, 13), (-12, 12), (-11, 11), (-10, 10),
        (-9, 9), (-8, 8), (-7, 7), (-6, 6), (-5, 5), (-4, 4), (-3, 3), (-2, 2), (-1, 1), (0, 0),
    ];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Relative_position_buckets_match_the_reference_including_the_exact_edges(bool bidirectional)
    {
        var table = bidirectional ? Bidirectional : Unidirectional;
        for (int position = -300; position <= 300; position++)
        {
            int expected = table.Last(entry => entry.From <= position).Bucket;
            Assert.Equal(expected, T5Attention.RelativePositionBucket(position, bidirectional, 32, 128));
        }
    }
}
