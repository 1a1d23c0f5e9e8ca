namespace MusicGen.Loaders;

/// <summary>
/// An error caused by the user's input (a file, an option, a checkpoint) rather than by a bug.
/// The command line prints its message alone, without a stack trace.
/// </summary>
public class MusicGenException : Exception
{
    public MusicGenException(string message) : base(message) { }
    public MusicGenException(string message, Exception inner) : base(message, inner) { }
}
