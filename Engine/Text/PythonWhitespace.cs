namespace MusicGen.Engine.Text;

/// <summary>
/// Whitespace as Python's <c>str.strip()</c> sees it, which the reference tokenizer uses around added tokens:
/// .NET's white space plus the four information separators U+001C..U+001F.
/// </summary>
internal static class PythonWhitespace
{
    public static bool IsWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    public static ReadOnlySpan<char> Trim(ReadOnlySpan<char> text, bool start, bool end)
    {
        if (start)
        {
            int first = 0;
            while (first < text.Length && IsWhiteSpace(text[first])) first++;
            text = text[first..];
        }
        if (end)
        {
            int length = text.Length;
            while (length > 0 && IsWhiteSpace(text[length - 1])) length--;
            text = text[..length];
        }
        return text;
    }
}
