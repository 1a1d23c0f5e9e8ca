using Spectre.Console;

namespace MusicGen.Cli;

/// <summary>What a long command reports while it runs: how far it is, and lines (skipped files) between.</summary>
public interface IProgressReport
{
    /// <summary>The work done so far, of <paramref name="total"/> when that has changed.</summary>
    void Report(double done, double? total = null);

    /// <summary>A line of text, printed as it is.</summary>
    void Line(string text);
}

/// <summary>
/// Progress on standard error: on a terminal a Spectre.Console bar with the rate and the time left; anywhere else (a
/// pipe, a log file) plain lines, one each time another tenth of the work is done, with no colour codes, no carriage
/// returns and no wrapping, so that logs stay greppable.
/// </summary>
public static class ProgressDisplay
{
    /// <summary>Whether standard error is a terminal (a person watching), not a pipe or a file.</summary>
    public static bool IsTerminal => !Console.IsErrorRedirected;

    /// <param name="description">What is being done ("generating").</param>
    /// <param name="unit">What is counted, plural ("steps"), for the rate.</param>
    public static T Run<T>(string description, string unit, double total, Func<IProgressReport, T> work)
    {
        if (!IsTerminal) return work(new PlainReport(description, unit, total));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T? result = default;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(unit), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(description, maxValue: Math.Max(1, total));
                result = work(new BarReport(task, console));
                task.Value = task.MaxValue;
                task.StopTask();
            });
        return result!;
    }

    private sealed class BarReport(ProgressTask task, IAnsiConsole console) : IProgressReport
    {
        public void Report(double done, double? total = null)
        {
            if (total is { } max) task.MaxValue = Math.Max(1, max);
            task.Value = done;
        }

        public void Line(string text) => console.WriteLine(text, Style.Plain);
    }

    private sealed class PlainReport(string description, string unit, double total) : IProgressReport
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private int _tenths;

        public void Report(double done, double? newTotal = null)
        {
            if (newTotal is { } max) total = max;
            int tenths = total <= 0 ? 10 : (int)Math.Min(10, Math.Floor(done * 10 / total));
            if (tenths <= _tenths) return;
            _tenths = tenths;
            double seconds = _clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"{description}: {tenths * 10}% ({done:0}/{total:0} {unit}, {(seconds > 0 ? done / seconds : 0):0.0} {unit}/s)");
        }

        public void Line(string text) => Console.Error.WriteLine(text);
    }

    private sealed class RateColumn(string unit) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is double speed ? $"{speed:0.0} {unit}/s" : $"– {unit}/s");
    }
}
