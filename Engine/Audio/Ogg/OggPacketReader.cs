using System.Buffers.Binary;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio.Ogg;

/// <summary>
/// Reads the packets of the first logical stream of an Ogg file (RFC 3533), page by page: every page's capture
/// pattern, version and CRC are checked, packets continued across pages are joined (up to
/// <see cref="MaxPacketBytes"/>), and pages of other logical streams are skipped. A damaged page is an error
/// naming it, never a resynchronisation that would turn damage into noise.
/// </summary>
public sealed class OggPacketReader(Stream stream, string displayName)
{
    /// <summary>The largest packet joined: cover art in a comment header can be megabytes, audio packets are far smaller.</summary>
    public const int MaxPacketBytes = 16 << 20;

    private readonly Queue<(byte[] Packet, long Granule, bool Last)> _ready = new();
    private readonly MemoryStream _partial = new();
    private readonly byte[] _header = new byte[27 + 255];
    private uint? _serial;
    private long _pages;
    private bool _ended;

    /// <summary>
    /// The next packet, with the granule position of the page it ends on when it is that page's last packet (else −1),
    /// and whether it ends the stream; null at the end of the stream.
    /// </summary>
    public (byte[] Packet, long Granule, bool Last)? Next()
    {
        while (_ready.Count == 0)
        {
            if (_ended || !ReadPage()) return null;
        }
        return _ready.Dequeue();
    }

    private bool ReadPage()
    {
        int read = stream.ReadAtLeast(_header.AsSpan(0, 27), 27, throwOnEndOfStream: false);
        if (read == 0)
        {
            if (_partial.Length > 0) throw Corrupt("the last packet is cut off");
            _ended = true;
            return false;
        }
        if (read < 27) throw Truncated();
        if (!_header.AsSpan(0, 4).SequenceEqual("OggS"u8)) throw Corrupt($"page {_pages} does not start with OggS");
        if (_header[4] != 0) throw Corrupt($"page {_pages} has the unknown version {_header[4]}");
        byte flags = _header[5];
        long granule = BinaryPrimitives.ReadInt64LittleEndian(_header.AsSpan(6));
        uint serial = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(14));
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(22));
        int segments = _header[26];
        if (stream.ReadAtLeast(_header.AsSpan(27, segments), segments, throwOnEndOfStream: false) < segments) throw Truncated();
        int bodySize = 0;
        for (int i = 0; i < segments; i++) bodySize += _header[27 + i];
        var page = new byte[27 + segments + bodySize];
        _header.AsSpan(0, 27 + segments).CopyTo(page);
        if (stream.ReadAtLeast(page.AsSpan(27 + segments), bodySize, throwOnEndOfStream: false) < bodySize) throw Truncated();
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(22), 0);
        if (OggCrc.Compute(page) != crc) throw Corrupt($"page {_pages}'s CRC does not match");
        _pages++;

        _serial ??= serial;
        if (serial != _serial) return true; // another logical stream (e.g. a second chained one) is not read
        if ((flags & 0x01) == 0 && _partial.Length > 0) throw Corrupt($"page {_pages - 1} drops a packet continued from the page before");
        if ((flags & 0x01) != 0 && _partial.Length == 0) throw Corrupt($"page {_pages - 1} continues a packet that no page began");
        int at = 27 + segments;
        for (int i = 0; i < segments; i++)
        {
            int lacing = _header[27 + i];
            if (_partial.Length + lacing > MaxPacketBytes) throw Corrupt($"a packet is larger than {MaxPacketBytes >> 20} MiB");
            _partial.Write(page, at, lacing);
            at += lacing;
            if (lacing < 255)
            {
                bool lastOfPage = i == segments - 1 || !HasLaterPacket(i, segments);
                bool ends = (flags & 0x04) != 0 && lastOfPage;
                _ready.Enqueue((_partial.ToArray(), lastOfPage ? granule : -1, ends));
                _partial.SetLength(0);
            }
        }
        if ((flags & 0x04) != 0)
        {
            if (_partial.Length > 0) throw Corrupt("the last page ends inside a packet");
            _ended = true;
        }
        return true;
    }

    /// <summary>Whether a packet completes after lacing value <paramref name="index"/> on this page.</summary>
    private bool HasLaterPacket(int index, int segments)
    {
        for (int i = index + 1; i < segments; i++)
            if (_header[27 + i] < 255) return true;
        return false;
    }

    private MusicGenException Corrupt(string what) => new($"{displayName}: not a valid Ogg stream: {what}");

    private MusicGenException Truncated() => new($"{displayName}: truncated: the Ogg stream ends in the middle of page {_pages}");
}
