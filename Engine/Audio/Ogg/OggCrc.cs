namespace MusicGen.Engine.Audio.Ogg;

/// <summary>The CRC-32 of an Ogg page (RFC 3533): polynomial 0x04C11DB7, initial value 0, no reflection, no final xor.</summary>
public static class OggCrc
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0;
        foreach (byte b in bytes) crc = (crc << 8) ^ Table[(crc >> 24) ^ b];
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint crc = i << 24;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 0x80000000) != 0 ? (crc << 1) ^ 0x04C11DB7 : crc << 1;
            table[i] = crc;
        }
        return table;
    }
}
