namespace MusicGen.Engine.Audio.Flac;

/// <summary>
/// The checksums of a FLAC frame (RFC 9639 §9.1.8 and §9.3): CRC-8 with polynomial x^8 + x^2 + x + 1 over the
/// frame header, CRC-16 with polynomial x^16 + x^15 + x^2 + 1 over the whole frame; both start at 0, most
/// significant bit first, without reflection or a final xor.
/// </summary>
public static class FlacCrc
{
    private static readonly byte[] Table8 = BuildTable8();
    private static readonly ushort[] Table16 = BuildTable16();

    public static byte Crc8(ReadOnlySpan<byte> bytes)
    {
        byte crc = 0;
        foreach (byte b in bytes) crc = Next8(crc, b);
        return crc;
    }

    public static ushort Crc16(ReadOnlySpan<byte> bytes)
    {
        ushort crc = 0;
        foreach (byte b in bytes) crc = Next16(crc, b);
        return crc;
    }

    public static byte Next8(byte crc, byte b) => Table8[crc ^ b];

    public static ushort Next16(ushort crc, byte b) => (ushort)((crc << 8) ^ Table16[(crc >> 8) ^ b]);

    private static byte[] BuildTable8()
    {
        var table = new byte[256];
        for (int i = 0; i < 256; i++)
        {
            int crc = i;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 0x80) != 0 ? (crc << 1) ^ 0x07 : crc << 1;
            table[i] = (byte)crc;
        }
        return table;
    }

    private static ushort[] BuildTable16()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            int crc = i << 8;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x8005 : crc << 1;
            table[i] = (ushort)crc;
        }
        return table;
    }
}
