using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// The train/test split of a clip, decided by its id alone (the first 53 bits of SHA-256 of the UTF-8 id, as a
/// fraction of 2⁵³, below the test fraction means test), so that re-runs, shards and machines agree.
/// </summary>
public static class DatasetSplit
{
    public const string Train = "train";
    public const string Test = "test";

    public static string Of(string id, double testFraction)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
        double position = (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) / 9007199254740992.0; // exact in a double, below 1
        return position < testFraction ? Test : Train;
    }

    public static void CheckFraction(double testFraction)
    {
        if (!(testFraction is >= 0 and <= 1)) throw new MusicGenException($"--test-fraction {testFraction} is not between 0 and 1");
    }
}
