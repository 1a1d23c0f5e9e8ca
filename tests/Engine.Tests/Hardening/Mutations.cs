using System.Text;
using System.Text.RegularExpressions;

namespace MusicGen.Tests.Hardening;

/// <summary>
/// Seeded mutations of a valid input, as a fuzzer makes them: flipped bits, bytes set to boundary values,
/// cuts, repeated and deleted spans, inserted garbage, and for text the numbers swapped for hostile ones.
/// </summary>
public static partial class Mutations
{
    private static readonly byte[] Boundaries = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'9', (byte)'-', (byte)'"', (byte)'{', (byte)'['];
    private static readonly string[] HostileNumbers =
        ["0", "-1", "1e308", "-1e308", "2147483647", "2147483648", "-2147483649", "9223372036854775808", "1.5", "null", "\"7\"", "[]", "{}", "true"];

    /// <summary>One mutant of <paramref name="original"/>; <paramref name="text"/> adds the number swaps of JSON.</summary>
    public static byte[] Mutate(byte[] original, Random random, bool text = false)
    {
        var bytes = new List<byte>(original);
        int edits = 1 + random.Next(3);
        for (int e = 0; e < edits; e++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(text ? 8 : 7))
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1 when bytes.Count > 0: bytes[at] = Boundaries[random.Next(Boundaries.Length)]; break;
                case 2: bytes.RemoveRange(at, bytes.Count - at); break;
                case 3 when bytes.Count > 0:
                    int length = Math.Min(bytes.Count - at, 1 + random.Next(64));
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 4 when bytes.Count > 0: bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(64))); break;
                case 5:
                    var garbage = new byte[1 + random.Next(16)];
                    random.NextBytes(garbage);
                    bytes.InsertRange(at, garbage);
                    break;
                case 6 when bytes.Count >= 4:
                    // A little-endian length or size field set to a boundary value.
                    int field = random.Next(bytes.Count - 3);
                    uint value = random.Next(4) switch { 0 => 0, 1 => uint.MaxValue, 2 => 0x7FFFFFFF, _ => (uint)random.Next() };
                    for (int i = 0; i < 4; i++) bytes[field + i] = (byte)(value >> (8 * i));
                    break;
                case 7:
                    return SwapNumber(bytes.ToArray(), random);
            }
        }
        return bytes.ToArray();
    }

    private static byte[] SwapNumber(byte[] utf8, Random random)
    {
        string text = Encoding.UTF8.GetString(utf8);
        var numbers = Number().Matches(text);
        if (numbers.Count == 0) return utf8;
        var target = numbers[random.Next(numbers.Count)];
        return Encoding.UTF8.GetBytes(text[..target.Index] + HostileNumbers[random.Next(HostileNumbers.Length)] + text[(target.Index + target.Length)..]);
    }

    [GeneratedRegex(@"-?\d+(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex Number();

    /// <summary>
    /// Runs <paramref name="parse"/> on <paramref name="cases"/> mutants: each must succeed or fail with a
    /// MusicGenException; any other exception fails the test, naming the seed and case to replay it.
    /// </summary>
    public static void Fuzz(string what, byte[] original, int cases, bool text, Action<byte[]> parse, int seed = 1234)
    {
        var random = new Random(seed);
        int refused = 0;
        for (int i = 0; i < cases; i++)
        {
            byte[] mutant = Mutate(original, random, text);
            try
            {
                parse(mutant);
            }
            catch (MusicGenException e)
            {
                Assert.False(e.Message.Contains('\0'), $"{what}, case {i}: the message holds a NUL");
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{what}, seed {seed}, case {i}: {e.GetType().Name} instead of a MusicGenException: {e}");
            }
        }
        // Mutants that all load would mean the parser checks nothing (or the mutations miss the format).
        Assert.True(refused > 0, $"{what}: none of {cases} mutants was refused");
    }
}
