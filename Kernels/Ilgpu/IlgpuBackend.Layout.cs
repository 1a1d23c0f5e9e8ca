using System.Buffers;
using ILGPU;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void CopyBlocksCore(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount)
    {
        if (blockLength == 0 || blockCount == 0) return;
        long sourceEnd = sourceOffset + (blockCount - 1) * sourceStride + blockLength;
        long destinationEnd = destinationOffset + (blockCount - 1) * destinationStride + blockLength;
        var from = View(source).SubView(sourceOffset, sourceEnd - sourceOffset);
        if (destination.ElementType == WeightType.F16)
        {
            // A float16 cache is never a float32 tensor's buffer, so the regions cannot overlap.
            var halves = HalfView(destination).SubView(destinationOffset, destinationEnd - destinationOffset).Cast<ushort>();
            _kernels.CopyBlocksToHalf(new Index2D(blockLength, blockCount), from, sourceStride, halves, destinationStride);
            return;
        }
        if (destination.ElementType == WeightType.Q8)
        {
            var cache = Int8View(destination);
            const int block = PackedMatrix.BlockSize;
            _kernels.CopyBlocksToQ8(new Index2D(blockLength / block, blockCount), from, sourceStride,
                cache.Values.SubView(destinationOffset, destinationEnd - destinationOffset),
                cache.Scales.SubView(destinationOffset / block, (destinationEnd - destinationOffset) / block), destinationStride);
            return;
        }
        var to = View(destination).SubView(destinationOffset, destinationEnd - destinationOffset);
        long fromStart = source.Offset + sourceOffset, toStart = destination.Offset + destinationOffset;
        bool overlapping = source.Buffer == destination.Buffer
            && fromStart < destination.Offset + destinationEnd && toStart < source.Offset + sourceEnd;
        if (overlapping)
        {
            // Overlapping regions of one buffer: threads of one launch run in no particular order, so each block goes
            // through scratch, block after block, as the CPU copies them (a block may read what an earlier one wrote).
            var staged = _work.Reserve(blockLength);
            for (int i = 0; i < blockCount; i++)
            {
                _kernels.CopyBlocks(new Index2D(blockLength, 1), from.SubView(i * sourceStride, blockLength), 0, staged, 0);
                _kernels.CopyBlocks(new Index2D(blockLength, 1), staged, 0, to.SubView(i * destinationStride, blockLength), 0);
            }
        }
        else
        {
            _kernels.CopyBlocks(new Index2D(blockLength, blockCount), from, sourceStride, to, destinationStride);
        }
    }

    protected override void TransposeCore(Tensor x, Tensor y)
    {
        int m = x.Dim(-2), n = x.Dim(-1);
        if (x.Length == 0) return;
        int batch = checked((int)(x.Length / ((long)m * n)));
        int side = _sizes.TileThreads;
        var config = new KernelConfig(new Index3D(DivideUp(n, side), DivideUp(m, side), batch), new Index3D(side, side, 1));
        _kernels.Transpose(config, View(x), View(y), m, n);
    }

    protected override void Pad1dCore(Tensor x, Tensor y, int left, int right, PadMode mode)
    {
        int length = x.Dim(-1), padded = length + left + right;
        int rows = length == 0 ? 0 : checked((int)(x.Length / length));
        if (rows == 0 || padded == 0) return;
        // The edge positions' sources come from the rule every backend shares; the interior is a plain copy.
        int edgeCount = left + right;
        int[] edges = ArrayPool<int>.Shared.Rent(Math.Max(1, edgeCount));
        try
        {
            for (int p = 0; p < left; p++) edges[p] = PadIndex.Source(p, length, left, right, mode);
            for (int p = 0; p < right; p++) edges[left + p] = PadIndex.Source(left + length + p, length, left, right, mode);
            _kernels.Pad1d(new Index2D(padded, rows), View(x), View(y), length, left, padded, _indices.Write(new ReadOnlySpan<int>(edges, 0, Math.Max(1, edgeCount))));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(edges);
        }
    }
}
