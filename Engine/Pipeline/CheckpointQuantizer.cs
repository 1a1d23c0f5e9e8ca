using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine;

/// <summary>
/// <c>musicgen quantize</c>: a MusicGen checkpoint's linear layers' matrices written once in a weight type
/// (<see cref="QuantizedCheckpoint"/>), so that later loads read them as they are instead of converting. The
/// matrices are exactly those the model's loading packs, and in the same bytes: the model is loaded once in that
/// type on the CPU and every matrix its text encoder and decoder read is kept (the codec's are written as stored,
/// so encode and decode with the new checkpoint are unchanged).
/// </summary>
public static class CheckpointQuantizer
{
    /// <summary>Writes the quantized checkpoint into the new folder <paramref name="output"/>; returns its weights' bytes.</summary>
    /// <exception cref="CheckpointException">The checkpoint cannot be loaded in that type, or is not a MusicGen model.</exception>
    public static long Quantize(CheckpointFolder checkpoint, WeightType type, string output)
    {
        QuantizedCheckpoint.CheckOutput(type, output);
        MusicGenException.Refine(checkpoint.RequireMusicgen, e => new CheckpointException(e.Message, e));
        var matrices = new Dictionary<string, PackedMatrix>(StringComparer.Ordinal);
        string codec = checkpoint.CodecWeights.FullName("");
        checkpoint.Weights.OnMatrixRead = (name, matrix) =>
        {
            if (!name.StartsWith(codec, StringComparison.Ordinal)) matrices[name] = matrix;
        };
        try
        {
            // Float products: with integer dot products the CPU lays q8 and q4 matrices out in row groups in their
            // own arrays, which are the bytes kept here to be written.
            using var backend = new CpuBackend(integerProducts: false);
            MusicGenException.Refine(() => MusicgenModels.Load(backend, checkpoint, type), e => new CheckpointException(e.Message, e)).Dispose();
        }
        finally
        {
            checkpoint.Weights.OnMatrixRead = null;
        }
        return QuantizedCheckpoint.Write(checkpoint, type, matrices, output);
    }
}
