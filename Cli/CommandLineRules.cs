using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;

namespace MusicGen.Cli;

/// <summary>
/// What each option accepts, declared next to the option, and the one-line error that names the option and what it
/// accepts when the command line breaks the rule, fails to parse, or names an option or command that does not exist.
/// </summary>
public static class CommandLineRules
{
    private static readonly ConditionalWeakTable<Option, string> AcceptedValues = new();

    /// <summary>Declares what <paramref name="option"/> accepts; values for which <paramref name="valid"/> is false are refused.</summary>
    public static Option<T> Accepts<T>(this Option<T> option, string accepts, Func<T, bool> valid)
    {
        AcceptedValues.AddOrUpdate(option, accepts);
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0) return;
            T value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return; // not a T at all: the parser reports that itself
            }
            if (!valid(value)) result.AddError($"{option.Name} takes {accepts}");
        });
        return option;
    }

    /// <summary>Declares what every value of a repeatable option accepts.</summary>
    public static Option<T[]> EachAccepts<T>(this Option<T[]> option, string accepts, Func<T, bool> valid) =>
        option.Accepts(accepts, values => values.All(valid));

    /// <summary>Refuses an empty or blank value of an argument, naming it.</summary>
    public static Argument<string[]> NotBlank(this Argument<string[]> argument)
    {
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Any(token => string.IsNullOrWhiteSpace(token.Value)))
                result.AddError($"a {argument.Name} is empty; give some text");
        });
        return argument;
    }

    /// <summary>A file name that ends in one of <paramref name="extensions"/>.</summary>
    public static bool HasExtension(string path, params string[] extensions) =>
        extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>The first problem with the command line as one sentence, or null when there is none (or help was asked for).</summary>
    public static string? FirstError(ParseResult parse)
    {
        if (parse.Action is { ClearsParseErrors: true }) return null;
        var commandResult = parse.CommandResult;
        var command = commandResult.Command;
        string name = command is RootCommand ? "musicgen" : command.Name;

        var escaped = TokensAfterDoubleDash(parse);
        foreach (var argument in commandResult.Children.OfType<ArgumentResult>())
            foreach (var token in argument.Tokens)
                if (LooksLikeOption(token.Value) && !escaped.Contains(token))
                    return UnknownOption(token.Value, command, positional: true);
        if (parse.UnmatchedTokens.FirstOrDefault() is string unmatched)
        {
            if (LooksLikeOption(unmatched)) return UnknownOption(unmatched, command, positional: command.Arguments.Count > 0);
            return command is RootCommand
                ? $"unknown command '{unmatched}'; the commands are {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
                : $"unexpected argument '{unmatched}' for {name} ({name} --help lists what it takes)";
        }
        if (parse.Errors.Count == 0) return null;
        if (command is RootCommand)
            return $"give a command: {string.Join(", ", command.Subcommands.Select(c => c.Name))} (musicgen --help explains them)";

        // What was given and is wrong comes first, then what is missing.
        foreach (var error in parse.Errors)
            if (OptionOf(error) is { IdentifierTokenCount: > 0 } option)
            {
                string accepts = Accepted(option.Option);
                if (option.Tokens.Count == 0) return $"{option.Option.Name} needs a value: {accepts}";
                return $"{option.Option.Name} takes {accepts}; got '{string.Join(" ", option.Tokens.Select(t => t.Value))}'";
            }
        foreach (var error in parse.Errors)
            if (error.SymbolResult is ArgumentResult { Tokens.Count: > 0 } && OptionOf(error) is null || error.SymbolResult is CommandResult)
                return error.Message;
        foreach (var option in command.Options)
            if (option.Required && parse.GetResult(option) is not { IdentifierTokenCount: > 0 })
                return $"{name} needs {option.Name} ({name} --help explains it)";
        foreach (var error in parse.Errors)
            if (error.SymbolResult is ArgumentResult { Tokens.Count: 0 } argument)
                return $"{name} needs {argument.Argument.Name}: {argument.Argument.Description}";
        return parse.Errors[0].Message;
    }

    private static OptionResult? OptionOf(ParseError error) => error.SymbolResult as OptionResult ?? error.SymbolResult?.Parent as OptionResult;

    private static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-';

    private static HashSet<Token> TokensAfterDoubleDash(ParseResult parse)
    {
        var after = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        bool seen = false;
        foreach (var token in parse.Tokens)
        {
            if (seen) after.Add(token);
            seen |= token.Type == TokenType.DoubleDash;
        }
        return after;
    }

    private static string UnknownOption(string token, Command command, bool positional)
    {
        string name = command is RootCommand ? "musicgen" : command.Name;
        string option = token.Split('=', ':')[0];
        string? nearest = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name))
            .Where(alias => alias.StartsWith("--", StringComparison.Ordinal))
            .Select(alias => (Alias: alias, Distance: EditDistance(option, alias)))
            .Where(c => c.Distance <= 2)
            .OrderBy(c => c.Distance)
            .Select(c => c.Alias)
            .FirstOrDefault();
        return $"unknown option '{option}' for {name}"
            + (nearest is null ? $" ({name} --help lists its options)" : $" (did you mean {nearest}?)")
            + (positional ? "; a value that starts with '-' goes after '--'" : "");
    }

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }

    private static string Accepted(Option option)
    {
        if (AcceptedValues.TryGetValue(option, out string? accepts)) return accepts;
        var type = option.ValueType.IsArray ? option.ValueType.GetElementType()! : option.ValueType;
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum) return $"one of {string.Join(", ", Enum.GetNames(type))}";
        if (type == typeof(double)) return "a number";
        if (type == typeof(int)) return "a whole number";
        if (type == typeof(ulong)) return "a whole number from 0 to 18446744073709551615";
        if (type == typeof(bool)) return "true or false";
        return "a value";
    }
}
