using FsCheck;
using FsCheck.Fluent;

namespace MusicGen.Tests.Support;

/// <summary>Runs an FsCheck property with a fixed number of cases and fails the xunit test on a counterexample.</summary>
public static class Properties
{
    public static void ForAll<T>(Gen<T> generator, Action<T> assertion, int cases = 100) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases), Prop.ForAll(generator.ToArbitrary(), assertion));

    /// <summary>Integers drawn from the given inclusive ranges, one per range, shrinking towards each range's low end.</summary>
    public static Gen<int[]> Ints(params (int Low, int High)[] ranges) =>
        ranges.Aggregate(Gen.Constant(Array.Empty<int>()),
            (gen, range) => gen.SelectMany(values => Gen.Choose(range.Low, range.High).Select(v => values.Append(v).ToArray())));
}
