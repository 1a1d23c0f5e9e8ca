using MusicGen.Loaders.Hub;

namespace MusicGen.Tests.Hub;

public class DownloadProgressTests
{
    private static List<string> Run(long? length, long totalBytes, int chunk)
    {
        var lines = new List<string>();
        var progress = new DownloadProgress("model.safetensors", length, lines.Add);
        for (long sent = 0; sent < totalBytes; sent += chunk) progress.Add((int)Math.Min(chunk, totalBytes - sent));
        Assert.Equal(totalBytes, progress.Received);
        return lines;
    }

    [Fact]
    public void A_large_file_reports_each_tenth_once_however_small_the_chunks()
    {
        const long length = 100L << 20;
        var lines = Run(length, length, chunk: 64 << 10);
        Assert.Equal(Enumerable.Range(1, 9).Select(tenth => $"  model.safetensors: {tenth * 10}%"), lines.Select(line => line[..line.IndexOf('%')] + "%"));
        Assert.Equal("  model.safetensors: 50% (50.0 MiB of 100.0 MiB)", lines[4]);
    }

    [Fact]
    public void A_chunk_spanning_several_tenths_gives_one_line()
    {
        const long length = 100L << 20;
        var lines = Run(length, length, chunk: 35 << 20);
        Assert.Equal(["30%", "70%"], lines.Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
    }

    [Fact]
    public void Small_files_and_files_of_unknown_length_report_nothing()
    {
        Assert.Empty(Run(DownloadProgress.ReportedFromLength - 1, DownloadProgress.ReportedFromLength - 1, chunk: 1 << 20));
        Assert.Empty(Run(null, 200L << 20, chunk: 1 << 20));
    }
}
