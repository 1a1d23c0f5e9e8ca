using System.Buffers.Binary;

namespace MusicGen.Engine.Audio.Ogg;

/// <summary>
/// Writes one logical Ogg stream (RFC 3533): packets are collected into a page until <see cref="FlushPage"/> or
/// until the page's 255 lacing values are used; each page carries the granule position the caller gives for the
/// last packet completed on it. Packets never span pages (an Opus packet is at most a few kilobytes).
/// </summary>
public sealed class OggPageWriter(Stream stream, uint serialNumber)
{
    private const int MaxSegments = 255;
    private readonly List<byte> _lacing = new(MaxSegments);
    private readonly MemoryStream _body = new();
    private uint _sequence;
    private long _granule;
    private bool _started;

    /// <summary>Packets waiting for the next page.</summary>
    public int PendingPackets { get; private set; }

    /// <summary>Adds a packet; <paramref name="granule"/> is the stream's granule position once it is decoded.</summary>
    public void WritePacket(ReadOnlySpan<byte> packet, long granule)
    {
        int segments = packet.Length / 255 + 1;
        if (segments > MaxSegments) throw new ArgumentException($"an Ogg packet of {packet.Length} bytes does not fit one page", nameof(packet));
        if (_lacing.Count + segments > MaxSegments) FlushPage();
        for (int i = 0; i < segments - 1; i++) _lacing.Add(255);
        _lacing.Add((byte)(packet.Length % 255));
        _body.Write(packet);
        _granule = granule;
        PendingPackets++;
    }

    /// <summary>Writes the pending packets as a page (the first page marked as the stream's beginning; <paramref name="last"/> marks its end).</summary>
    public void FlushPage(bool last = false)
    {
        if (PendingPackets == 0 && !last) return;
        int headerSize = 27 + _lacing.Count;
        var page = new byte[headerSize + (int)_body.Length];
        "OggS"u8.CopyTo(page);
        page[4] = 0; // version
        page[5] = (byte)((_started ? 0 : 0x02) | (last ? 0x04 : 0));
        BinaryPrimitives.WriteInt64LittleEndian(page.AsSpan(6), _granule);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(14), serialNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(18), _sequence++);
        page[26] = (byte)_lacing.Count;
        _lacing.CopyTo(page, 27);
        _body.GetBuffer().AsSpan(0, (int)_body.Length).CopyTo(page.AsSpan(headerSize));
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(22), OggCrc.Compute(page));
        stream.Write(page);
        _lacing.Clear();
        _body.SetLength(0);
        PendingPackets = 0;
        _started = true;
    }
}
