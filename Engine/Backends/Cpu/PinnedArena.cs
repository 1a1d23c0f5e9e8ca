using MusicGen.Loaders;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>Bytes from <see cref="Offset"/> on in an array the garbage collector never moves (the pinned heap).</summary>
internal readonly record struct PinnedBytes(byte[] Array, int Offset);

/// <summary>
/// Aligned pieces of large pinned arrays whose memory is advised to 2 MB pages (<see cref="HugePages"/>), for what the
/// CPU backend lays out once at load. A model's weights are hundreds of matrices of a few megabytes: as arrays of
/// their own, most too small for a 2 MB page, each was mapped 4 KB by 4 KB on its first write, and those faults were
/// most of a quantized checkpoint's load on the development VM (README, Speed). A chunk lives as long as any piece of
/// it: the pieces hold its array.
/// </summary>
internal sealed class PinnedArena
{
    private const int ChunkBytes = 64 << 20;

    private readonly object _gate = new();
    private byte[]? _chunk;
    private int _used;

    /// <summary>A piece of <paramref name="bytes"/> bytes whose first one's address is a multiple of <paramref name="alignment"/> (a power of 2).</summary>
    public PinnedBytes Take(int bytes, int alignment)
    {
        if (bytes > ChunkBytes / 8) return Aligned(HugePages.NewArray<byte>(checked(bytes + alignment - 1), pinned: true), 0, alignment);
        lock (_gate)
        {
            if (_chunk is not null)
            {
                var piece = Aligned(_chunk, _used, alignment);
                if (piece.Offset + bytes <= _chunk.Length)
                {
                    _used = piece.Offset + bytes;
                    return piece;
                }
            }
            _chunk = HugePages.NewArray<byte>(ChunkBytes, pinned: true);
            var first = Aligned(_chunk, 0, alignment);
            _used = first.Offset + bytes;
            return first;
        }
    }

    /// <summary>The first offset from <paramref name="from"/> on in a pinned array whose address is a multiple of alignment.</summary>
    private static unsafe PinnedBytes Aligned(byte[] array, int from, int alignment)
    {
        fixed (byte* start = array)
        {
            nint address = (nint)start + from;
            return new(array, from + (int)(((address + alignment - 1) & ~(nint)(alignment - 1)) - address));
        }
    }
}
