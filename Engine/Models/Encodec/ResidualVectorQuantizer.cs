using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// Residual vector quantization (modeling_encodec.EncodecResidualVectorQuantizer): each stage picks the codebook
/// vector nearest to what the previous stages left unexplained; decoding sums the chosen vectors.
/// </summary>
public sealed class ResidualVectorQuantizer : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor[] _codebooks; // Q × [codebook_size, codebook_dim]

    public int CodebookSize { get; }
    public int CodebookDim { get; }
    public int NumQuantizers => _codebooks.Length;

    public ResidualVectorQuantizer(IBackend backend, EncodecConfig config, WeightReader weights)
    {
        _backend = backend;
        CodebookSize = config.CodebookSize;
        CodebookDim = config.CodebookDim;
        _codebooks = Enumerable.Range(0, config.NumQuantizers)
            .Select(q => backend.Upload(weights.Float($"layers.{q}.codebook.embed", CodebookSize, CodebookDim)))
            .ToArray();
    }

    /// <summary>Codes [B, Q, F] (row-major) for embeddings [B, D, F].</summary>
    public int[] Encode(Tensor embeddings, int quantizers)
    {
        if (quantizers < 1 || quantizers > NumQuantizers)
            throw new ArgumentOutOfRangeException(nameof(quantizers), $"{quantizers} quantizers requested, the codec has {NumQuantizers}");
        int batch = embeddings.Dim(0), frames = embeddings.Dim(2);
        using var residual = _backend.Allocate(batch, frames, CodebookDim); // [B, F, D]
        _backend.Transpose(embeddings, residual);
        var flat = residual.Reshape(batch * frames, CodebookDim);
        var stage = new int[batch * frames];
        var codes = new int[batch * quantizers * frames];
        for (int q = 0; q < quantizers; q++)
        {
            _backend.NearestCodes(flat, _codebooks[q], stage);
            _backend.Gather(_codebooks[q], stage, flat, scale: -1f, accumulate: true);
            for (int b = 0; b < batch; b++)
                stage.AsSpan(b * frames, frames).CopyTo(codes.AsSpan((b * quantizers + q) * frames, frames));
        }
        return codes;
    }

    /// <summary>Embeddings [B, D, F] for codes [B, Q, F] (row-major).</summary>
    public Tensor Decode(ReadOnlySpan<int> codes, int batch, int quantizers, int frames)
    {
        if (codes.Length != batch * quantizers * frames || quantizers > NumQuantizers)
            throw new ArgumentException($"{codes.Length} codes do not form [{batch}, {quantizers}, {frames}] for {NumQuantizers} quantizers");
        foreach (int code in codes)
            if ((uint)code >= (uint)CodebookSize)
                throw new MusicGenException($"code {code} is outside the codebook (0 to {CodebookSize - 1})");
        using var sum = _backend.Allocate(batch, frames, CodebookDim); // [B, F, D]
        var stage = new int[frames];
        for (int q = 0; q < quantizers; q++)
            for (int b = 0; b < batch; b++)
            {
                codes.Slice((b * quantizers + q) * frames, frames).CopyTo(stage);
                _backend.Gather(_codebooks[q], stage, sum.Slice(b, 1).Reshape(frames, CodebookDim), accumulate: q > 0);
            }
        var embeddings = _backend.Allocate(batch, CodebookDim, frames);
        _backend.Transpose(sum, embeddings);
        return embeddings;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var codebook in _codebooks) codebook.Dispose();
    }
}
