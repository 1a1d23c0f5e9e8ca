using MusicGen.Loaders;

namespace MusicGen.Cli;

/// <summary>
/// Runs a command's body and turns user-facing errors into one line on stderr and a non-zero exit code, never a
/// stack trace (set MUSICGEN_DEBUG=1 to see one).
/// </summary>
public static class CommandRunner
{
    public const int Failure = 1;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException e)
        {
            Report(e, "cancelled");
            return Failure;
        }
        catch (Exception e) when (e is MusicGenException or IOException or UnauthorizedAccessException or OutOfMemoryException)
        {
            Report(e, e.Message);
            return Failure;
        }
        catch (Exception e)
        {
            Report(e, $"internal error ({e.GetType().Name}): {e.Message}");
            return Failure;
        }
    }

    /// <summary>Prints a one-line error and gives the failure exit code.</summary>
    public static int Fail(string message)
    {
        PrintError(message);
        return Failure;
    }

    /// <summary>Prints <c>error: MESSAGE</c> on one line, control characters of echoed input escaped.</summary>
    public static void PrintError(string message) => Console.Error.WriteLine($"error: {MusicGenException.Printable(message)}");

    private static void Report(Exception e, string message)
    {
        PrintError(message);
        if (Environment.GetEnvironmentVariable("MUSICGEN_DEBUG") == "1") Console.Error.WriteLine(e);
    }
}
