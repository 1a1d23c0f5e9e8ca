using System.Diagnostics;

namespace MusicGen.Tests.Support;

/// <summary>Runs a reference tool that did not come from this project (Debian's flac, ffmpeg, ffprobe) on files.</summary>
public static class ReferenceTool
{
    public sealed record Result(int ExitCode, byte[] Output, string Errors)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Output);
    }

    /// <summary>The tool on PATH, or null when it is not installed.</summary>
    public static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, tool))
            .FirstOrDefault(File.Exists);

    public static Result Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        Task<string> errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        copy.Wait();
        return new Result(process.ExitCode, output.ToArray(), errors.Result);
    }

    /// <summary>Runs the tool and fails the test unless it exits 0.</summary>
    public static Result Succeed(string tool, params string[] arguments)
    {
        var result = Run(tool, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} failed: {result.Errors}");
        return result;
    }

    /// <summary>ffmpeg's decode of a file as interleaved float32 at its own rate, and that rate and channel count from ffprobe.</summary>
    public static (float[] Interleaved, int SampleRate, int Channels) FfmpegDecode(string path)
    {
        var probe = Succeed("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate,channels", "-of", "csv=p=0", path).Text.Trim().Split(',');
        var bytes = Succeed("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "f32le", "-c:a", "pcm_f32le", "-").Output;
        var samples = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, samples, 0, samples.Length * 4);
        return (samples, int.Parse(probe[0]), int.Parse(probe[1]));
    }

    /// <summary>Integrated loudness as ffmpeg's ebur128 filter measures it, in LUFS.</summary>
    public static double Ebur128(string path)
    {
        string report = Succeed("ffmpeg", "-nostdin", "-nostats", "-i", path, "-filter_complex", "ebur128", "-f", "null", "-").Errors;
        string summary = report[report.LastIndexOf("Integrated loudness:", StringComparison.Ordinal)..];
        string value = summary.Split('\n').First(l => l.TrimStart().StartsWith("I:", StringComparison.Ordinal)).Split(':')[1].Replace("LUFS", "").Trim();
        return double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
