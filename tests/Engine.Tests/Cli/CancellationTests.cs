using MusicGen.Cli;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class CancellationTests
{
    [Fact]
    public void A_cancelled_command_fails_with_one_line()
    {
        var error = new StringWriter();
        var old = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(CommandRunner.Failure, CommandRunner.Run(() => throw new OperationCanceledException()));
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.Equal("error: cancelled", error.ToString().Trim());
    }
}
