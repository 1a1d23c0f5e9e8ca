using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
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
        Func<Tensor> allocate = decoder.CacheType == WeightType.F16
            ? () => backend.AllocateHalf(batch, capacity, width)
            : () => backend.Allocate(batch, capacity, width);
        SelfKeys = Enumerable.Range(0, layers).Select(_ => allocate()).ToArray();
        SelfValues = Enumerable.Range(0, layers).Select(_ => allocate()).ToArray();
        CrossKeys = crossKeys;
        CrossValues = crossValues;
        CrossMask = crossMask;
        CrossLength = crossKeys is null ? 0 : crossKeys[0].Dim(1);
    }

    /// <summary>A workspace for T new positions of every row, reused while T stays the same.</summary>
    public DecoderWorkspace Workspace(int tokens, int width, int ffnDim)
    {
        if (_workspace?.Tokens != tokens)
        {
            _workspace?.Dispose();
            _workspace = new DecoderWorkspace(_backend, Batch, tokens, width, ffnDim);
        }
        return _workspace;
    }

    /// <summary>Writes keys and values [N·T, D] of T new positions after the cached ones.</summary>
    public void Append(int layer, Tensor keys, Tensor values, int tokens)
    {
        int width = SelfKeys[layer].Dim(2);
        _backend.CopyBlocks(keys, 0, (long)tokens * width, SelfKeys[layer], (long)Length * width, (long)Capacity * width, tokens * width, Batch);
        _backend.CopyBlocks(values, 0, (long)tokens * width, SelfValues[layer], (long)Length * width, (long)Capacity * width, tokens * width, Batch);
    }

    /// <summary>Marks T more positions as cached, once every layer has appended them.</summary>
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
