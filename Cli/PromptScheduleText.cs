using System.Globalization;
using MusicGen.Engine;
using MusicGen.Loaders;

namespace MusicGen.Cli;

/// <summary>
/// A prompt schedule as the command line gives it: <c>--then SECONDS TEXT</c> pairs, or a file of <c>SECONDS TEXT</c>
/// lines. Only the form is checked here; <see cref="MusicRequest.Validate"/> checks the times and texts.
/// </summary>
public static class PromptScheduleText
{
    /// <summary>The changes of <paramref name="values"/>, SECONDS and TEXT in turn.</summary>
    public static IReadOnlyList<PromptChange> FromPairs(IReadOnlyList<string> values, string option)
    {
        var changes = new List<PromptChange>();
        for (int i = 0; i + 1 < values.Count; i += 2)
            changes.Add(new PromptChange(Seconds(values[i], $"{option} {values[i]}"), values[i + 1]));
        return changes;
    }

    /// <summary>The changes of a file of <c>SECONDS TEXT</c> lines; blank lines and lines starting with # are skipped.</summary>
    public static IReadOnlyList<PromptChange> ReadFile(string path, string option)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{option} {path}: {e.Message}", e);
        }
        var changes = new List<PromptChange>();
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int space = line.IndexOfAny([' ', '\t']);
            string where = $"{option} {path} line {n + 1}";
            if (space < 0) throw new MusicGenException($"{where}: expected SECONDS TEXT; got '{line}'");
            changes.Add(new PromptChange(Seconds(line[..space], where), line[(space + 1)..].Trim()));
        }
        if (changes.Count == 0) throw new MusicGenException($"{option} {path}: no changes in it (lines of SECONDS TEXT)");
        return changes;
    }

    private static double Seconds(string text, string where) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && double.IsFinite(seconds)
            ? seconds
            : throw new MusicGenException($"{where}: expected a number of seconds; got '{text}'");
}
