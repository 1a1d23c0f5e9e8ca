using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// What the decoder keeps between steps of one generation: every layer's self-attention keys and values for the
/// positions seen so far ([N, capacity, D], in the decoder's <see cref="MusicgenDecoder.CacheType"/>), and the conditioning: the cross-attention keys and values with
/// their mask, computed once (MusicGen), or the prefix the first step puts before its tokens (MusicGen-Melody).
/// </summary>
public sealed class DecoderCache : IDisposable
{
    private readonly IBackend _backend;
    private DecoderWorkspace? _workspace;

    public int Batch { get; }
    public int Capacity { get; }
    /// <summary>Positions already in the cache; the next tokens take positions Length, Length + 1, ….</summary>
    public int Length { get; private set; }
    public Tensor[] SelfKeys { get; }
    public Tensor[] SelfValues { get; }
    public Tensor[]? CrossKeys { get; }
    public Tensor[]? CrossValues { get; }
    public Tensor? CrossMask { get; }
    public int CrossLength { get; }
    /// <summary>[N, P, D] conditioning that precedes the first tokens, or null.</summary>
    public Tensor? Prefix { get; }

    public DecoderCache(IBackend backend, MusicgenDecoder decoder, int batch, int capacity,
        Tensor[]? crossKeys = null, Tensor[]? crossValues = null, Tensor? crossMask = null, Tensor? prefix = null)
    {
        Prefix = prefix;
        _backend = backend;
        Batch = batch;
        Capacity = capacity;
        int layers = decoder.Layers.Count, width = decoder.Config.HiddenSize;
        SelfKeys = Enumerable.Range(0, layers).Select(_ => backend.AllocateCache(decoder.CacheType, batch, capacity, width)).ToArray();
        SelfValues = Enumerable.Range(0, layers).Select(_ => backend.AllocateCache(decoder.CacheType, batch, capacity, width)).ToArray();
        CrossKeys = crossKeys;
        CrossValues = crossValues;
        CrossMask = crossMask;
        CrossLength = crossKeys is null ? 0 : crossKeys[0].Dim(1);
    }

    /// <summary>The types a cache's keys and values can be held in, as <c>--cache</c> names them: f32, f16, q8.</summary>
    public static IReadOnlyList<WeightType> Types { get; } = [WeightType.F32, WeightType.F16, WeightType.Q8];

    /// <summary>
    /// The cache type beside a weight type when none is asked for: float32 beside float32 weights, so that
    /// verification stays exact; float16 beside f16 and bf16, the types chosen when exactness matters more than speed;
    /// q8 beside q8 and q4, where a long piece's later steps would otherwise read more cache than weights, for an
    /// error well below the weights' own (README, Weight types).
    /// </summary>
    public static WeightType DefaultType(WeightType weights) => weights switch
    {
        WeightType.F32 => WeightType.F32,
        WeightType.F16 or WeightType.BF16 => WeightType.F16,
        _ => WeightType.Q8,
    };

    public static WeightType ParseType(string text)
    {
        foreach (var type in Types)
            if (type.Name() == text.ToLowerInvariant()) return type;
        throw new MusicGenException($"unknown cache type '{text}'; expected one of {string.Join(", ", Types.Select(t => t.Name()))}");
    }

    /// <summary>
    /// The type a cache of rows of <paramref name="width"/> elements gets when <paramref name="requested"/> is asked
    /// for: q8 needs rows of whole blocks of 32 (every Hub checkpoint's), else it is f16.
    /// </summary>
    public static WeightType StoredType(WeightType requested, int width) =>
        requested == WeightType.Q8 && width % PackedMatrix.BlockSize != 0 ? WeightType.F16 : requested;

    /// <summary>A workspace for T new positions of every row, reused while T stays the same.</summary>
    public DecoderWorkspace Workspace(int tokens, int width, int ffnDim, int codebooks)
    {
        if (_workspace?.Tokens != tokens)
        {
            _workspace?.Dispose();
            _workspace = new DecoderWorkspace(_backend, Batch, tokens, width, ffnDim, codebooks);
        }
        return _workspace;
    }

    /// <summary>Marks T more positions as cached, once every layer has appended them (MusicgenAttention.AppendAndAttend).</summary>
    public void Advance(int tokens)
    {
        if (Length + tokens > Capacity) throw new InvalidOperationException($"decoder cache of {Capacity} positions overflows");
        Length += tokens;
    }

    public void Dispose()
    {
        _workspace?.Dispose();
        foreach (var tensor in SelfKeys.Concat(SelfValues).Concat(CrossKeys ?? []).Concat(CrossValues ?? [])) tensor.Dispose();
        CrossMask?.Dispose();
        Prefix?.Dispose();
    }
}
