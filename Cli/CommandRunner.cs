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

    private static void Report(Exception e, string message)
    {
        Console.Error.WriteLine($"error: {message}");
        if (Environment.GetEnvironmentVariable("MUSICGEN_DEBUG") == "1") Console.Error.WriteLine(e);
    }
}
