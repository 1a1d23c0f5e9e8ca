using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The same data on two backends, as views that start inside a larger buffer (a random number of elements in,
/// with spare elements after), so every operation also runs on non-zero offsets. Disposing releases the buffers.
/// </summary>
public sealed class BackendPair(IBackend reference, IBackend tested, int seed) : IDisposable
{
    private readonly List<Tensor> _owners = [];
    private readonly Random _random = new(seed);

    public IBackend Reference => reference;
    public IBackend Tested => tested;

    /// <summary>The data as a view of the given shape on each backend.</summary>
    public (Tensor Reference, Tensor Tested) Upload(float[] data, params int[] shape)
    {
        int offset = _random.Next(0, 40), spare = _random.Next(0, 5);
        var padded = new float[offset + data.Length + spare];
        for (int i = 0; i < padded.Length; i++) padded[i] = float.NaN; // reading outside the view shows up
        data.CopyTo(padded, offset);
        return (View(reference, padded, offset, shape), View(tested, padded, offset, shape));
    }

    /// <summary>Random values in [-scale, scale] as views on each backend, with the values themselves.</summary>
    public (Tensor Reference, Tensor Tested, float[] Data) Random(int dataSeed, float scale, params int[] shape)
    {
        var data = RandomData.Uniform(dataSeed, Count(shape), scale);
        var (a, b) = Upload(data, shape);
        return (a, b, data);
    }

    /// <summary>An output view filled with the same random values on both backends (so untouched elements compare equal).</summary>
    public (Tensor Reference, Tensor Tested) Output(params int[] shape) => Upload(RandomData.Uniform(_random.Next(), Count(shape)), shape);

    private Tensor View(IBackend backend, float[] padded, int offset, int[] shape)
    {
        var owner = backend.Upload(padded, padded.Length);
        _owners.Add(owner);
        return owner.Slice(offset, Count(shape)).Reshape(shape);
    }

    private static int Count(int[] shape) => checked((int)ShapeText.ElementCount(shape));

    /// <summary>Downloads both and asserts max |a − b| ≤ tolerance.</summary>
    public static void AssertClose((Tensor Reference, Tensor Tested) pair, double tolerance, string what) =>
        RandomData.AssertClose(pair.Reference.ToArray(), pair.Tested.ToArray(), tolerance, what);

    public void Dispose()
    {
        foreach (var owner in _owners) owner.Dispose();
    }
}
