using System.CommandLine;
using MusicGen.Cli.Commands;

namespace MusicGen.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("musicgen: MusicGen text-to-music and the EnCodec codec in pure .NET");
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(EncodeCommand.Create());
        root.Subcommands.Add(DecodeCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(DatasetCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        // Prompts are text: an argument starting with '@' is not a response file to expand.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        return CommandLineRules.FirstError(parse) is string error ? CommandRunner.Fail(error) : parse.Invoke();
    }
}
