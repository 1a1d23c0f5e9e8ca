using System.Buffers.Binary;

namespace MusicGen.Engine.Audio;

/// <summary>
/// The gapless information of an MP3 file: the Xing/Info frame an encoder writes first (its frame count) and the
/// LAME tag after it (the encoder's delay and padding in samples, 12 bits each).
/// </summary>
internal static class Mp3Gapless
{
    /// <summary>(delay, padding, frames) from the first frame after an ID3v2 tag, or null when there is no LAME tag.</summary>
    public static (int Delay, int Padding, int Frames)? Read(Stream stream)
    {
        var head = new byte[4096];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var bytes = head.AsSpan(0, read);
        int at = 0;
        if (bytes.Length >= 10 && bytes.StartsWith("ID3"u8))
        {
            at = 10 + (bytes[6] << 21 | bytes[7] << 14 | bytes[8] << 7 | bytes[9]);
            if (at + 4 > bytes.Length)
            {
                stream.Position = at;
                read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
                bytes = head.AsSpan(0, read);
                at = 0;
            }
        }
        if (at + 4 > bytes.Length) return null;
        uint header = BinaryPrimitives.ReadUInt32BigEndian(bytes[at..]);
        if ((header & 0xFFE00000) != 0xFFE00000 || (header >> 17 & 3) != 1) return null; // not layer III
        bool mpeg1 = (header >> 19 & 3) == 3, mono = (header >> 6 & 3) == 3, crc = (header >> 16 & 1) == 0;
        int xing = at + 4 + (crc ? 2 : 0) + (mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17));
        if (xing + 8 > bytes.Length) return null;
        var tag = bytes[xing..];
        if (!tag.StartsWith("Xing"u8) && !tag.StartsWith("Info"u8)) return null;
        uint flags = BinaryPrimitives.ReadUInt32BigEndian(tag[4..]);
        int field = 8, frames = -1;
        if ((flags & 1) != 0)
        {
            if (tag.Length < field + 4) return null;
            frames = BinaryPrimitives.ReadInt32BigEndian(tag[field..]);
            field += 4;
        }
        field += ((flags & 2) != 0 ? 4 : 0) + ((flags & 4) != 0 ? 100 : 0) + ((flags & 8) != 0 ? 4 : 0);
        // The LAME tag: 9 bytes of encoder name, 12 bytes of settings and gains, then delay and padding.
        if (frames < 0 || tag.Length < field + 24) return null;
        var delays = tag.Slice(field + 21, 3);
        return (delays[0] << 4 | delays[1] >> 4, (delays[1] & 0x0F) << 8 | delays[2], frames);
    }
}
