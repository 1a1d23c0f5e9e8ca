using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Verification;

/// <summary>
/// A golden case with its checkpoint, and the models built from it on first use, once for all the checks that
/// need them.
/// </summary>
public sealed class CaseContext : IDisposable
{
    private IMusicgenModel? _musicgen;
    private EncodecModel? _codec;
    private T5Tokenizer? _tokenizer;

    public GoldenCase Golden { get; }
    public CheckpointFolder Checkpoint { get; }
    public IBackend Backend { get; }
    /// <summary>The type of the linear layers' weight matrices of the MusicGen model.</summary>
    public WeightType WeightType { get; }

    /// <summary>The type of the decoder's key/value cache (null: the default beside <see cref="WeightType"/>).</summary>
    public WeightType? CacheType { get; }

    public CaseContext(GoldenCase golden, CheckpointFolder checkpoint, IBackend backend, WeightType weightType = WeightType.F32, WeightType? cacheType = null)
    {
        Golden = golden;
        Checkpoint = checkpoint;
        Backend = backend;
        WeightType = weightType;
        CacheType = cacheType;
    }

    public IMusicgenModel Musicgen => _musicgen ??= MusicgenModels.Load(Backend, Checkpoint, WeightType, CacheType);

    /// <summary>
    /// The codec: a MusicGen model's audio encoder, or the standalone codec of an EnCodec checkpoint, built as it
    /// would be beside the model's weight type.
    /// </summary>
    public EncodecModel Codec => _codec ??= Checkpoint.Musicgen is null
        ? new EncodecModel(Backend, Checkpoint.Codec, Checkpoint.CodecWeights.WithMatrixType(EncodecModel.RecurrentTypeFor(WeightType)))
        : Musicgen.AudioEncoder;

    public T5Tokenizer Tokenizer => _tokenizer ??= T5Tokenizer.FromFolder(Checkpoint.Folder);

    /// <summary>Frees the models' weights on the device.</summary>
    public void Dispose()
    {
        if (Checkpoint.Musicgen is null) _codec?.Dispose();
        _musicgen?.Dispose();
    }
}
