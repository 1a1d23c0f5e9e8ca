using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Encodes MP3 or AAC with ffmpeg: a child process fed 32-bit float PCM on its standard input as the audio arrives.
/// To a stream that cannot seek, MP3 and raw AAC (ADTS) come back on its standard output and are passed on as they
/// come; to a file (and always for M4A, whose index goes in front) ffmpeg writes a scratch file, finished with what
/// only the end can tell, that is copied at <see cref="AudioWriter.Finish"/>.
/// </summary>
public sealed class FfmpegEncoder : AudioWriter
{
    /// <summary>How ffmpeg is asked for one output: codec and container arguments, and whether it needs a seekable file.</summary>
    public sealed record Target(string Name, string[] Arguments, bool NeedsFile);

    /// <summary>LAME at 192 kb/s: a common choice for music.</summary>
    public static readonly Target Mp3 = new("MP3", ["-c:a", "libmp3lame", "-b:a", "192k", "-f", "mp3"], NeedsFile: false);

    /// <summary>ffmpeg's AAC encoder at 192 kb/s, raw ADTS frames.</summary>
    public static readonly Target Adts = new("AAC", ["-c:a", "aac", "-b:a", "192k", "-f", "adts"], NeedsFile: false);

    /// <summary>The same AAC in an M4A (MP4) container.</summary>
    public static readonly Target M4a = new("M4A", ["-c:a", "aac", "-b:a", "192k", "-f", "ipod"], NeedsFile: true);

    private readonly Stream _output;
    private readonly string _displayName;
    private readonly Target _target;
    private readonly Process _process;
    private readonly Stream _input;
    private readonly Task _copy;
    private readonly Task<string> _errors;
    private readonly string? _scratch;
    private byte[] _interleaved = [];

    public FfmpegEncoder(Stream output, int sampleRate, int channels, Target target, string displayName) : base(sampleRate, channels)
    {
        (_output, _target, _displayName) = (output, target, displayName);
        string executable = FfmpegDecoder.Find(Environment.GetEnvironmentVariable("PATH") ?? "")
            ?? throw new MusicGenException($"{displayName}: {target.Name} output needs ffmpeg, which is not installed (not found on PATH)");
        var start = new ProcessStartInfo(executable) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] input = ["-nostdin", "-v", "error", "-f", "f32le", "-ar", sampleRate.ToString(CultureInfo.InvariantCulture), "-ac", channels.ToString(CultureInfo.InvariantCulture), "-i", "pipe:0"];
        // On a file, ffmpeg writes a scratch file it can seek in: MP3 then gets its Xing/LAME frame (length, gapless
        // delay and padding), which a pipe cannot carry.
        if (target.NeedsFile || output.CanSeek) _scratch = Path.Combine(Path.GetTempPath(), $"musicgen-{Guid.NewGuid():N}.{target.Name.ToLowerInvariant()}");
        foreach (string argument in input.Concat(target.Arguments).Append(_scratch is null ? "pipe:1" : "file:" + _scratch).Prepend("-y"))
            start.ArgumentList.Add(argument);
        try
        {
            _process = Process.Start(start) ?? throw new MusicGenException($"{displayName}: could not start ffmpeg ({executable})");
        }
        catch (Win32Exception e)
        {
            throw new MusicGenException($"{displayName}: could not run ffmpeg ({executable}): {e.Message}", e);
        }
        _input = _process.StandardInput.BaseStream;
        _errors = _process.StandardError.ReadToEndAsync();
        // Its output is drained while it is fed: ffmpeg stops reading when its output pipe is full.
        _copy = _scratch is null ? _process.StandardOutput.BaseStream.CopyToAsync(output) : _process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
    }

    protected override void WriteChunk(AudioClip chunk)
    {
        int bytes = chunk.Length * Channels * sizeof(float);
        if (_interleaved.Length < bytes) _interleaved = new byte[bytes];
        var samples = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_interleaved.AsSpan(0, bytes));
        for (int c = 0; c < Channels; c++)
        {
            float[] channel = chunk.Channels[c];
            for (int i = 0; i < channel.Length; i++) samples[i * Channels + c] = channel[i];
        }
        try
        {
            _input.Write(_interleaved, 0, bytes);
        }
        catch (IOException)
        {
            throw Failed(); // ffmpeg stopped reading: its message says why
        }
    }

    protected override void FinishStream()
    {
        try
        {
            _input.Dispose();
        }
        catch (IOException)
        {
            throw Failed();
        }
        _copy.GetAwaiter().GetResult();
        _process.WaitForExit();
        if (_process.ExitCode != 0) throw Failed();
        if (_scratch is not null)
        {
            using var file = File.OpenRead(_scratch);
            file.CopyTo(_output);
        }
        _output.Flush();
    }

    private MusicGenException Failed()
    {
        _process.WaitForExit();
        return new MusicGenException($"{_displayName}: ffmpeg could not encode {_target.Name}: {FfmpegDecoder.FirstLine(_errors.GetAwaiter().GetResult(), _process.ExitCode)}");
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        if (!_process.HasExited)
        {
            try { _process.Kill(); } catch (InvalidOperationException) { }
            _process.WaitForExit();
        }
        _process.Dispose();
        if (_scratch is not null) File.Delete(_scratch);
    }
}
