using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// Reads RFC 4180 CSV (comma-separated, fields optionally in double quotes with "" for a quote, records ending in
/// LF or CRLF, line breaks allowed inside quotes). Malformed quoting and oversized fields are errors naming the line.
/// </summary>
public sealed class CsvReader
{
    /// <summary>A field longer than this is taken for a broken file (an unclosed quote swallowing the rest), not data.</summary>
    public const int MaxFieldChars = 1 << 20;

    private readonly TextReader _reader;
    private readonly string _name;
    private int _line = 1;

    public CsvReader(TextReader reader, string name)
    {
        _reader = reader;
        _name = name;
    }

    /// <summary>Line on which the record last returned by <see cref="ReadRecord"/> started.</summary>
    public int RecordLine { get; private set; }

    /// <summary>The next record's fields, or null at the end of the input. Blank lines are skipped.</summary>
    public string[]? ReadRecord()
    {
        while (true)
        {
            RecordLine = _line;
            if (_reader.Peek() < 0) return null;
            var fields = ReadFields();
            if (fields.Count == 1 && fields[0].Length == 0) continue;
            return fields.ToArray();
        }
    }

    private List<string> ReadFields()
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        while (true)
        {
            int c = _reader.Read();
            if (c == '"' && field.Length == 0) ReadQuoted(field);
            else if (c is ',' or '\n' or '\r' or -1)
            {
                fields.Add(field.ToString());
                field.Clear();
                if (c == ',') continue;
                if (c == '\r' && _reader.Peek() == '\n') _reader.Read();
                if (c != -1) _line++;
                return fields;
            }
            else if (c == '"') throw Error(_line, "a quote inside an unquoted field (quote the whole field and double the quote)");
            else Append(field, (char)c);
        }
    }

    private void ReadQuoted(StringBuilder field)
    {
        int start = _line;
        while (true)
        {
            int c = _reader.Read();
            if (c == -1) throw Error(start, "a quoted field is not closed before the end of the file");
            if (c == '"')
            {
                if (_reader.Peek() != '"')
                {
                    int next = _reader.Peek();
                    if (next is not (',' or '\n' or '\r' or -1)) throw Error(_line, "text after a closing quote");
                    return;
                }
                _reader.Read();
            }
            if (c == '\n') _line++;
            Append(field, (char)c);
        }
    }

    private void Append(StringBuilder field, char c)
    {
        if (field.Length >= MaxFieldChars) throw Error(_line, $"a field longer than {MaxFieldChars} characters");
        field.Append(c);
    }

    private MusicGenException Error(int line, string message) => new($"{_name}:{line}: {message}");
}
