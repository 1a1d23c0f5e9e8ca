namespace MusicGen.Engine.Text;

/// <summary>UTF-8 character boundaries, judged from the lead byte as sentencepiece does.</summary>
internal static class Utf8Char
{
    /// <summary>Bytes in the character that starts <paramref name="text"/> (never past its end; 1 for a stray continuation byte).</summary>
    public static int LengthAt(ReadOnlySpan<byte> text)
    {
        byte lead = text[0];
        int length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        return Math.Min(length, text.Length);
    }
}
