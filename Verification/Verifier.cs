using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;

namespace MusicGen.Verification;

/// <summary>What a verification run found: one row per reference tensor of an implemented component.</summary>
public sealed record VerificationReport(string Case, IReadOnlyList<VerificationRow> Rows, IReadOnlyList<string> NotImplemented)
{
    public int Passed => Rows.Count(r => r.Passed);
    public int Failed => Rows.Count(r => !r.Passed);
    public bool Succeeded => Failed == 0 && Rows.Count > 0;
}

/// <summary>
/// Runs every implemented component on a golden case and compares each tensor it produces with the reference.
/// A reference tensor of an implemented component that the engine did not produce, or a produced tensor the
/// reference does not have, is a failure.
/// </summary>
public sealed class Verifier
{
    private readonly IBackend _backend;
    private readonly IReadOnlyList<IComponentCheck> _checks;
    private readonly IReadOnlyList<ISignalCheck> _signalChecks;
    private readonly WeightType _weightType;
    private readonly WeightType _cacheType;
    private readonly IReadOnlyList<AdapterReference> _adapters;

    /// <summary>
    /// A verifier on <paramref name="backend"/>; with a <paramref name="weightType"/> other than f32 the MusicGen
    /// model's linear layers run in that type, with <paramref name="cacheType"/> other than f32 (by default the
    /// type <see cref="DecoderCache.DefaultType"/> gives beside the weights) its key/value cache is held in that
    /// type, and then their results are compared by <see cref="LowPrecisionTolerance"/>.
    /// <paramref name="adapters"/> are merged into every case's checkpoint after the ones the case names itself.
    /// </summary>
    public Verifier(IBackend backend, IReadOnlyList<IComponentCheck>? checks = null, IReadOnlyList<ISignalCheck>? signalChecks = null,
        WeightType weightType = WeightType.F32, WeightType? cacheType = null, IReadOnlyList<AdapterReference>? adapters = null)
    {
        _backend = backend;
        _checks = checks ?? DefaultChecks;
        _signalChecks = signalChecks ?? DefaultSignalChecks;
        _weightType = weightType;
        _adapters = adapters ?? [];
        _cacheType = cacheType ?? DecoderCache.DefaultType(weightType);
    }

    public static IReadOnlyList<IComponentCheck> DefaultChecks { get; } =
        [new CodecCheck(), new TextCheck(), new TeacherForcingCheck(), new GenerationCheck(), new LongformCheck()];

    public static IReadOnlyList<ISignalCheck> DefaultSignalChecks { get; } = [new ResampleCheck(), new ChromaCheck()];

    public VerificationReport Run(string caseFolder)
    {
        using var golden = GoldenCase.Open(caseFolder);
        var produced = new ProducedTensors();
        foreach (var check in _signalChecks) check.Run(golden, produced);
        if (golden.HasCheckpoint)
        {
            using var checkpoint = ModelLocator.OpenCheckpoint(golden.ModelFolder, [.. golden.Adapters, .. _adapters], HubOptions.FromEnvironment());
            using var context = new CaseContext(golden, checkpoint, _backend, _weightType, _cacheType);
            foreach (var check in _checks) check.Run(context, produced);
        }

        var rows = new List<VerificationRow>(produced.ExtraRows);
        var notImplemented = new List<string>();
        var inputs = new HashSet<string>(golden.Inputs, StringComparer.Ordinal);
        foreach (string name in golden.Outputs.Order(NaturalOrder.Instance))
        {
            if (!_checks.Any(c => c.Owns(golden, name)) && !_signalChecks.Any(c => c.Owns(golden, name)))
            {
                notImplemented.Add(name);
                continue;
            }
            var tolerance = _checks.FirstOrDefault(c => c.Owns(golden, name))?.ToleranceWith(_weightType, _cacheType, _backend);
            rows.Add(Compare(golden, produced, name, tolerance));
        }
        if (_weightType != WeightType.F32 || _cacheType != WeightType.F32) AudioFollowsCodes(rows);
        foreach (string name in produced.Names.Where(n => !golden.Has(n) && !inputs.Contains(n)).Order(NaturalOrder.Instance))
            rows.Add(new VerificationRow(name, "", double.NaN, 0, false, "no reference tensor of that name"));
        return new VerificationReport(golden.Name, rows, notImplemented);
    }

    /// <summary>
    /// With low-precision weights or cache the audio of a generation (short or long-form) passes when its codes do (see
    /// <see cref="LowPrecisionTolerance"/>).
    /// </summary>
    private static void AudioFollowsCodes(List<VerificationRow> rows)
    {
        foreach (string generation in new[] { "generate", "longform" })
        {
            int audio = rows.FindIndex(r => r.Name == generation + ".audio"), codes = rows.FindIndex(r => r.Name == generation + ".codes");
            if (audio < 0 || codes < 0 || rows[audio].Passed || !rows[codes].Passed) continue;
            rows[audio] = rows[audio] with { Passed = true, Note = "follows the generated codes" };
        }
    }

    private static VerificationRow Compare(GoldenCase golden, ProducedTensors produced, string name, LowPrecisionTolerance? lowPrecision)
    {
        int[] expectedShape = golden.Shape(name);
        if (!produced.TryGet(name, out int[] shape, out float[]? floats, out long[]? ints))
            return new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, 0, false, "not produced by the engine");
        bool expectedInt = golden.Expected.Entry(name).DType == Loaders.Safetensors.SafetensorsDType.I64;
        if (expectedInt)
            return ints is null
                ? new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, 0, false, "engine gave floats for an integer tensor")
                : lowPrecision?.CompareInt(name, expectedShape, golden.Int(name), shape, ints)
                    ?? TensorComparison.CompareInt(name, expectedShape, golden.Int(name), shape, ints);
        return floats is null
            ? new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, 0, false, "engine gave integers for a float tensor")
            : lowPrecision?.CompareFloat(name, expectedShape, golden.Float(name), shape, floats)
                ?? TensorComparison.CompareFloat(name, expectedShape, golden.Float(name), shape, floats);
    }
}

/// <summary>Orders names with their numbers by value: layers.2 before layers.10.</summary>
public sealed class NaturalOrder : IComparer<string>
{
    public static NaturalOrder Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null) return string.CompareOrdinal(x, y);
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                int si = i, sj = j;
                while (i < x.Length && char.IsAsciiDigit(x[i])) i++;
                while (j < y.Length && char.IsAsciiDigit(y[j])) j++;
                int byValue = CompareNumbers(x.AsSpan(si, i - si), y.AsSpan(sj, j - sj));
                if (byValue != 0) return byValue;
                continue;
            }
            if (x[i] != y[j]) return x[i].CompareTo(y[j]);
            i++;
            j++;
        }
        int byRest = (x.Length - i).CompareTo(y.Length - j);
        return byRest != 0 ? byRest : string.CompareOrdinal(x, y);
    }

    /// <summary>Digit runs by value, however many digits they have: without leading zeros, the longer is larger.</summary>
    private static int CompareNumbers(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = a.TrimStart('0');
        b = b.TrimStart('0');
        return a.Length != b.Length ? a.Length.CompareTo(b.Length) : a.SequenceCompareTo(b);
    }
}
