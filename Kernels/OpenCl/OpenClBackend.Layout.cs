using System.Buffers;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void CopyBlocksCore(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount)
    {
        if (blockLength == 0 || blockCount == 0) return;
        long sourceStart = source.Offset + sourceOffset, sourceEnd = sourceStart + (blockCount - 1) * sourceStride + blockLength;
        long destinationStart = destination.Offset + destinationOffset, destinationEnd = destinationStart + (blockCount - 1) * destinationStride + blockLength;
        var from = KernelArguments.MemoryOf(_cl, source);
        var to = KernelArguments.MemoryOf(_cl, destination);
        if (destination.ElementType == WeightType.F16)
        {
            // A float16 cache is never a float32 tensor's buffer, so the regions cannot overlap.
            _kernels.CopyBlocksToHalf.Start()
                .Memory(from).Int(checked((int)sourceStart)).Int(checked((int)sourceStride))
                .Memory(to).Int(checked((int)destinationStart)).Int(checked((int)destinationStride)).Int(blockLength)
                .Run([KernelSizes.RoundUp(blockLength, KernelSizes.ElementThreads), blockCount], [KernelSizes.ElementThreads, 1]);
        }
        else if (destination.ElementType == WeightType.Q8)
        {
            // A q8 cache is never a float32 tensor's buffer either; its scales follow its values.
            _kernels.CopyBlocksToQ8.Start()
                .Memory(from).Int(checked((int)sourceStart)).Int(checked((int)sourceStride))
                .Memory(to).Int(checked((int)destinationStart)).Int(checked((int)destinationStride)).Int(blockLength).Int(checked((int)destination.Length))
                .Run([KernelSizes.RoundUp(blockLength / PackedMatrix.BlockSize, KernelSizes.ElementThreads), blockCount], [KernelSizes.ElementThreads, 1]);
        }
        else if (from == to && sourceStart < destinationEnd && destinationStart < sourceEnd)
        {
            // Overlapping regions of one buffer: items of one launch run in no particular order, so each block goes
            // through scratch, block after block, as the CPU copies them (a block may read what an earlier one wrote).
            var staged = _work.Reserve((long)blockLength * sizeof(float));
            for (int i = 0; i < blockCount; i++)
            {
                CopyBlocks(from, sourceStart + i * sourceStride, 0, staged, 0, 0, blockLength, 1);
                CopyBlocks(staged, 0, 0, to, destinationStart + i * destinationStride, 0, blockLength, 1);
            }
        }
        else
        {
            CopyBlocks(from, sourceStart, sourceStride, to, destinationStart, destinationStride, blockLength, blockCount);
        }
    }

    private void CopyBlocks(ClMemHandle source, long sourceStart, long sourceStride, ClMemHandle destination, long destinationStart,
        long destinationStride, int blockLength, int blockCount) =>
        _kernels.CopyBlocks.Start()
            .Memory(source).Int(checked((int)sourceStart)).Int(checked((int)sourceStride))
            .Memory(destination).Int(checked((int)destinationStart)).Int(checked((int)destinationStride)).Int(blockLength)
            .Run([KernelSizes.RoundUp(blockLength, KernelSizes.ElementThreads), blockCount], [KernelSizes.ElementThreads, 1]);

    protected override void TransposeCore(Tensor x, Tensor y)
    {
        int m = x.Dim(-2), n = x.Dim(-1);
        int batch = checked((int)(x.Length / Math.Max(1L, (long)m * n)));
        const int tile = KernelSizes.TransposeTile;
        _kernels.Transpose.Start().Tensor(x).Tensor(y).Int(m).Int(n)
            .Run([KernelSizes.RoundUp(n, tile), KernelSizes.RoundUp(m, tile), batch], [tile, tile, 1]);
    }

    protected override void Pad1dCore(Tensor x, Tensor y, int left, int right, PadMode mode)
    {
        int length = x.Dim(-1), padded = length + left + right;
        int rows = length == 0 ? 0 : checked((int)(x.Length / length));
        if (rows == 0) return;
        // The edge positions' sources come from the rule every backend shares; the interior is a plain copy.
        int edgeCount = left + right;
        int[]? rented = edgeCount > 256 ? ArrayPool<int>.Shared.Rent(edgeCount) : null;
        Span<int> edges = rented is null ? stackalloc int[edgeCount] : rented.AsSpan(0, edgeCount);
        try
        {
            for (int p = 0; p < left; p++) edges[p] = PadIndex.Source(p, length, left, right, mode);
            for (int p = 0; p < right; p++) edges[left + p] = PadIndex.Source(left + length + p, length, left, right, mode);
            _kernels.Pad1d.Start().Tensor(x).Tensor(y).Int(length).Int(left).Int(right).Memory(_arguments.Write<int>(edges))
                .Run([KernelSizes.RoundUp(padded, KernelSizes.ElementThreads), rows], [KernelSizes.ElementThreads, 1]);
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }
}
