using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    /// <summary>The packed bytes as they are, in one device buffer; kernels convert weights as they read them.</summary>
    public override unsafe Tensor UploadPacked(PackedMatrix matrix)
    {
        ClMemHandle memory;
        fixed (byte* p = matrix.Data) memory = _cl.CreateBuffer(Math.Max(1, matrix.Data.LongLength), matrix.Data.Length == 0 ? null : p);
        return Own(memory, matrix.Data.LongLength, matrix.Data.LongLength, [matrix.Rows, matrix.Columns], matrix.Type, MemoryUse.Weights);
    }

    /// <summary>The WEIGHTS_F32 and PACKED_* codes of packed.cl.</summary>
    internal static int WeightTypeCode(WeightType type) => type switch
    {
        WeightType.F32 => 0,
        WeightType.F16 => 1,
        WeightType.BF16 => 2,
        WeightType.Q8 => 3,
        WeightType.Q4 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
