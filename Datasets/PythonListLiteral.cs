using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// Parses a Python list literal of strings, as MusicCaps writes its <c>aspect_list</c> column:
/// <c>['low quality', "sustained strings", 'it\'s']</c>, with single or double quotes, backslash escapes and an
/// optional trailing comma.
/// </summary>
public static class PythonListLiteral
{
    public static string[] Parse(string text)
    {
        var items = new List<string>();
        int i = SkipSpace(text, 0);
        if (i == text.Length || text[i] != '[') throw Error(text, i, "expected '['");
        i = SkipSpace(text, i + 1);
        while (i < text.Length && text[i] != ']')
        {
            items.Add(ReadString(text, ref i));
            i = SkipSpace(text, i);
            if (i < text.Length && text[i] == ',') i = SkipSpace(text, i + 1);
            else if (i < text.Length && text[i] != ']') throw Error(text, i, "expected ',' or ']'");
        }
        if (i == text.Length) throw Error(text, i, "missing ']'");
        if (SkipSpace(text, i + 1) != text.Length) throw Error(text, i + 1, "text after ']'");
        return items.ToArray();
    }

    private static string ReadString(string text, ref int i)
    {
        char quote = text[i];
        if (quote is not ('\'' or '"')) throw Error(text, i, "expected a quoted string");
        var value = new StringBuilder();
        for (i++; i < text.Length; i++)
        {
            char c = text[i];
            if (c == quote)
            {
                i++;
                return value.ToString();
            }
            if (c != '\\')
            {
                value.Append(c);
                continue;
            }
            if (++i == text.Length) break;
            value.Append(text[i] switch
            {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' or '\'' or '"' => text[i],
                _ => throw Error(text, i, $"unsupported escape '\\{text[i]}'"),
            });
        }
        throw Error(text, i, "unterminated string");
    }

    private static int SkipSpace(string text, int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i;
    }

    private static MusicGenException Error(string text, int position, string message) =>
        new($"not a Python list of strings ({message} at character {position + 1}): {Excerpt(text)}");

    private static string Excerpt(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
