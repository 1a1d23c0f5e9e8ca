namespace MusicGen;

/// <summary>
/// An error caused by the user's input (a file, an option, a checkpoint) rather than by a bug; its message is one
/// line that says what is wrong, and the command line prints it alone, without a stack trace. The subclasses say
/// which input: <see cref="CheckpointException"/> (and its <see cref="AdapterException"/>), <see cref="InvalidRequestException"/>,
/// <see cref="InputFileException"/>, and the OpenCL backend's <c>OpenClException</c> for a device's errors.
/// Cancellation is not an error: a cancelled generation throws <see cref="OperationCanceledException"/>.
/// </summary>
public class MusicGenException : Exception
{
    public MusicGenException(string message) : base(message) { }
    public MusicGenException(string message, Exception inner) : base(message, inner) { }

    /// <summary>
    /// The text with every control character written as an escape (<c>\x00</c>), so that input echoed in a message
    /// can neither break its line nor drive a terminal.
    /// </summary>
    public static string Printable(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var printable = new System.Text.StringBuilder(text.Length + 16);
        foreach (char c in text)
            printable.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        return printable.ToString();
    }

    /// <summary>
    /// Runs <paramref name="body"/>; an error of the plain base type from it becomes the more specific error
    /// <paramref name="refine"/> makes of it (keeping it as the inner exception), so that a component can say
    /// what kind of input failed without every check below it knowing.
    /// </summary>
    public static T Refine<T>(Func<T> body, Func<MusicGenException, MusicGenException> refine)
    {
        try
        {
            return body();
        }
        catch (MusicGenException e) when (e.GetType() == typeof(MusicGenException))
        {
            throw refine(e);
        }
    }
}

/// <summary>A checkpoint that cannot be loaded: a missing or malformed file, config or tensor.</summary>
public class CheckpointException : MusicGenException
{
    public CheckpointException(string message) : base(message) { }
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// An adapter that cannot be merged into the checkpoint: a missing or malformed adapter_config.json or
/// adapter_model.safetensors, an unsupported kind of adapter, or tensors that do not fit the model.
/// </summary>
public class AdapterException : CheckpointException
{
    public AdapterException(string message) : base(message) { }
    public AdapterException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A request the model cannot honour: an impossible duration, setting, prompt, audio prompt or melody. A refusal
/// about the request's fields says which (<see cref="Field"/>) and keeps its message as a <see cref="Template"/>
/// naming them in braces (<c>{TopP} 2 must be in (0, 1]</c>): the message writes the request's own property
/// names, and a front end <see cref="Render"/>s it with its names for them (a command line's options, an API's
/// fields).
/// </summary>
public class InvalidRequestException : MusicGenException
{
    public InvalidRequestException(string message) : base(message) { }
    public InvalidRequestException(string message, Exception inner) : base(message, inner) { }

    /// <summary>A refusal about <paramref name="field"/>; <paramref name="template"/> names fields in braces.</summary>
    public InvalidRequestException(string field, string template, Exception? inner = null)
        : base(Fill(template, name => name), inner!)
    {
        Field = field;
        Template = template;
    }

    /// <summary>The request field the refusal is about (a property name of the request), or null.</summary>
    public string? Field { get; }

    /// <summary>The message with the fields it names in braces, or null when it names none.</summary>
    public string? Template { get; }

    /// <summary>The message with every field named as <paramref name="nameOf"/> names it.</summary>
    public string Render(Func<string, string> nameOf) => Template is null ? Message : Fill(Template, nameOf);

    private static string Fill(string template, Func<string, string> nameOf) =>
        System.Text.RegularExpressions.Regex.Replace(template, @"\{([A-Za-z]+)\}", match => nameOf(match.Groups[1].Value));
}

/// <summary>An input file (audio, codes) that is missing, unreadable or malformed.</summary>
public class InputFileException : MusicGenException
{
    public InputFileException(string message) : base(message) { }
    public InputFileException(string message, Exception inner) : base(message, inner) { }
}
