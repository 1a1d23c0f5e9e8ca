namespace MusicGen.Tests.Support;

/// <summary>Runs the musicgen command line in-process and captures what it prints.</summary>
public static class CliRunner
{
    private static readonly object ConsoleLock = new();

    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        lock (ConsoleLock)
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var (oldOut, oldError) = (Console.Out, Console.Error);
            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                int code = MusicGen.Cli.Program.Main(args);
                return new Result(code, output.ToString(), error.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldError);
            }
        }
    }
}

/// <summary>Tests that swap the process-wide console run one at a time.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;
