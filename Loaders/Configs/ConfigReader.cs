using System.Text.Json;

namespace MusicGen.Loaders.Configs;

/// <summary>
/// Reads typed values out of one JSON object of a config.json. Unknown fields are ignored; a missing required
/// field is remembered rather than thrown at once, so that one error can name every missing field.
/// </summary>
public sealed class ConfigReader
{
    private readonly JsonElement _element;
    private readonly string _where;
    private readonly List<string> _missing = new();

    public ConfigReader(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new MusicGenException($"{where}: expected a JSON object");
        _element = element;
        _where = where;
    }

    /// <summary>A JSON file of at most <see cref="InputFile.TextLimit"/> bytes, read through <see cref="InputFile"/>.</summary>
    public static JsonDocument ParseFile(string path) => Parse(InputFile.ReadAllBytes(path), path);

    /// <summary>
    /// JSON text: invalid UTF-8 is refused here, because <see cref="JsonDocument"/> only notices it when a string is
    /// read, deep in whatever code reads it.
    /// </summary>
    public static JsonDocument Parse(byte[] utf8, string where)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8)) throw new MusicGenException($"{where}: not valid JSON (the text is not valid UTF-8)");
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new MusicGenException($"{where}: not valid JSON ({OneLine(e.Message)})");
        }
    }

    /// <summary>
    /// A parser's message on one line: it may quote the offending text, control characters (NUL, line breaks) and all.
    /// </summary>
    private static string OneLine(string message)
    {
        string line = string.Concat(message.Select(c => char.IsControl(c) ? ' ' : c));
        return line.Length <= 200 ? line : line[..200] + "…";
    }

    /// <summary>The root object of a JSON document; any other kind of root is an error naming the file.</summary>
    public static JsonElement RootObject(JsonDocument document, string where) =>
        document.RootElement.ValueKind == JsonValueKind.Object
            ? document.RootElement
            : throw new MusicGenException($"{where}: expected a JSON object, found {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");

    public bool Has(string name) => _element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public ConfigReader Child(string name)
    {
        if (!_element.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object)
            throw new MusicGenException($"{_where}: missing the '{name}' section");
        return new ConfigReader(v, $"{_where} ({name})");
    }

    // Every number is read with the range it may take: a size that is zero, negative or absurd is refused here,
    // before anything is allocated from it.
    public int RequiredInt(string name, int min, int max) => Required(name, Int(min, max), 0);
    public int Int(string name, int fallback, int min, int max) => Optional(name, Int(min, max), fallback);
    public int? NullableInt(string name, int min, int max) => Has(name) ? Int(min, max)(name, _element.GetProperty(name)) : null;
    public double Double(string name, double fallback, double min, double max) => Optional(name, Double(min, max), fallback);
    public double? NullableDouble(string name, double min, double max) => Has(name) ? Double(min, max)(name, _element.GetProperty(name)) : null;
    public bool Bool(string name, bool fallback) => Optional(name, ReadBool, fallback);
    public string String(string name, string fallback) => Optional(name, ReadString, fallback);
    public string RequiredString(string name) => Required(name, ReadString, "");
    public int[] RequiredIntArray(string name, int min, int max, int maxLength) => Required(name, (n, v) => ReadArray(n, v, Int(min, max), maxLength), Array.Empty<int>());
    public double[] RequiredDoubleArray(string name, double min, double max, int maxLength) => Required(name, (n, v) => ReadArray(n, v, Double(min, max), maxLength), Array.Empty<double>());

    /// <summary>Throws one error naming every required field that was asked for and not found.</summary>
    public void ThrowIfMissing()
    {
        if (_missing.Count > 0)
            throw new MusicGenException($"{_where}: missing required field{(_missing.Count > 1 ? "s" : "")} {string.Join(", ", _missing)}");
    }

    private T Required<T>(string name, Func<string, JsonElement, T> read, T placeholder)
    {
        if (Has(name)) return read(name, _element.GetProperty(name));
        _missing.Add(name);
        return placeholder;
    }

    private T Optional<T>(string name, Func<string, JsonElement, T> read, T fallback) =>
        Has(name) ? read(name, _element.GetProperty(name)) : fallback;

    private Func<string, JsonElement, int> Int(int min, int max) => (name, v) =>
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= min && i <= max) return i;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && d >= min && d <= max) return (int)d;
        throw Bad(name, v, $"an integer from {min} to {max}");
    };

    private Func<string, JsonElement, double> Double(double min, double max) => (name, v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d >= min && d <= max
            ? d
            : throw Bad(name, v, $"a number from {min} to {max}");

    private bool ReadBool(string name, JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Bad(name, v, "true or false"),
    };

    private string ReadString(string name, JsonElement v) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad(name, v, "a string");

    private T[] ReadArray<T>(string name, JsonElement v, Func<string, JsonElement, T> read, int maxLength)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > maxLength) throw Bad(name, v, $"a list of at most {maxLength}");
        return v.EnumerateArray().Select(item => read(name, item)).ToArray();
    }

    private MusicGenException Bad(string name, JsonElement v, string expected)
    {
        string value = v.GetRawText();
        return new($"{_where}: field '{name}' is {(value.Length > 80 ? value[..80] + "…" : value)}, expected {expected}");
    }
}
