using MusicGen.Engine.Audio;
using MusicGen.Datasets;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Datasets;

public class ClipSourceTests
{
    private static ManifestEntry Entry(string id, double? start, double? end) => new(id, start, end, null, null, null, null, null, null, []);

    /// <summary>A 16 kHz mono ramp of the given seconds, so that where a cut starts shows in its first sample.</summary>
    private static AudioFolder Folder(TempFolder folder, params (string Id, double Seconds)[] files)
    {
        foreach (var (id, seconds) in files)
        {
            var ramp = Enumerable.Range(0, (int)(16000 * seconds)).Select(i => i / 16000f / 100).ToArray();
            WavFile.Write(folder.File(id + ".wav"), new AudioClip(16000, [ramp]), WavSampleFormat.Float32);
        }
        return new AudioFolder(folder.Path);
    }

    [Theory]
    [InlineData(CutMode.Auto, 10.0, 2.0, 3.0, 2.0)]   // a whole recording: cut
    [InlineData(CutMode.Auto, 1.1, 30.0, 31.0, 0.0)]  // a clip already cut (within the tolerance): whole
    [InlineData(CutMode.Always, 10.0, 2.0, 3.0, 2.0)]
    [InlineData(CutMode.Never, 10.0, 2.0, 3.0, 0.0)]
    public void Cuts_whole_recordings_and_takes_clips_whole(CutMode mode, double fileSeconds, double start, double end, double firstSecond)
    {
        using var folder = new TempFolder();
        var source = new ClipSource(Folder(folder, ("x", fileSeconds)), mode, 16000, 1);
        var (clip, bytes) = source.Load(Entry("x", start, end));
        double expectedSeconds = mode == CutMode.Never || (mode == CutMode.Auto && firstSecond == 0) ? fileSeconds : end - start;
        Assert.Equal(expectedSeconds, clip.Seconds, 3);
        Assert.Equal(firstSecond / 100, clip.Channels[0][0], 5);
        Assert.Equal(new FileInfo(folder.File("x.wav")).Length, bytes);
    }

    [Theory]
    [InlineData(CutMode.Auto, 3.0, 2.0, 4.0, "shorter than asked")]
    [InlineData(CutMode.Always, 1.0, 30.0, 31.0, "shorter than asked")]
    [InlineData(CutMode.Auto, 3.0, 2.0, 2.0, "end_s 2 is not after start_s 2")]
    [InlineData(CutMode.Auto, 3.0, -1.0, 2.0, "start_s -1 is negative")]
    public void Unusable_clips_say_why(CutMode mode, double fileSeconds, double start, double end, string reason)
    {
        using var folder = new TempFolder();
        var source = new ClipSource(Folder(folder, ("x", fileSeconds)), mode, 16000, 1);
        Assert.Contains(reason, Assert.Throws<MusicGenException>(() => source.Load(Entry("x", start, end))).Message);
    }

    [Fact]
    public void Files_are_found_by_id_and_never_outside_the_folder()
    {
        using var folder = new TempFolder();
        var audio = Folder(folder, ("a", 0.1));
        Assert.Equal(folder.File("a.wav"), audio.Find("a"));
        Assert.Equal(folder.File("a.wav"), audio.Find("a.wav"));
        Assert.Contains("no audio file named ../a.wav", Assert.Throws<MusicGenException>(() => audio.Find("../a.wav")).Message);
        File.Copy(folder.File("a.wav"), Path.Combine(Directory.CreateDirectory(folder.File("sub")).FullName, "a.wav"));
        Assert.Contains("several audio files for a", Assert.Throws<MusicGenException>(() => new AudioFolder(folder.Path).Find("a")).Message);
    }
}
