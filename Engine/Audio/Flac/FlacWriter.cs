using System.Security.Cryptography;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio.Flac;

/// <summary>
/// Writes a FLAC stream (16- or 24-bit) as the audio arrives: the "fLaC" marker, STREAMINFO, then a frame per
/// <see cref="FlacEncoder.BlockSize"/> samples. On a stream that can seek (a file), <see cref="AudioWriter.Finish"/>
/// goes back to fill STREAMINFO's length, frame sizes and MD5; on a pipe those stay "unknown", as the format allows.
/// </summary>
public sealed class FlacWriter : AudioWriter
{
    private readonly Stream _stream;
    private readonly FlacEncoder _encoder;
    private readonly FlacBitWriter _frame = new();
    private readonly int[][] _block;
    private readonly int _bits;
    private readonly long? _declaredFrames;
    private readonly long _streamInfoAt;
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly byte[] _md5Bytes;
    private int _buffered;
    private long _frameNumber;
    private int _minFrameSize = int.MaxValue, _maxFrameSize;

    /// <summary>
    /// Writes the stream's header to <paramref name="stream"/> at once. <paramref name="declaredFrames"/>, the length
    /// when known beforehand, goes into STREAMINFO even on a pipe.
    /// </summary>
    public FlacWriter(Stream stream, int sampleRate, int channels, SampleFormat format, long? declaredFrames = null, string displayName = "FLAC output")
        : base(sampleRate, channels)
    {
        if (format is not (SampleFormat.Pcm16 or SampleFormat.Pcm24))
            throw new MusicGenException($"{displayName}: FLAC holds 16- or 24-bit integer samples (Pcm16 or Pcm24), not {format}");
        if (channels > 8) throw new MusicGenException($"{displayName}: FLAC holds at most 8 channels, not {channels}");
        if (sampleRate > 655350) throw new MusicGenException($"{displayName}: FLAC holds rates up to 655350 Hz, not {sampleRate}");
        _stream = stream;
        _bits = format.Bits();
        _declaredFrames = declaredFrames;
        _encoder = new FlacEncoder(sampleRate, channels, _bits);
        _block = Enumerable.Range(0, channels).Select(_ => new int[FlacEncoder.BlockSize]).ToArray();
        _md5Bytes = new byte[FlacEncoder.BlockSize * channels * (_bits / 8)];
        stream.Write("fLaC"u8);
        _streamInfoAt = stream.CanSeek ? stream.Position : -1;
        WriteStreamInfo(declaredFrames ?? 0, new byte[16], minFrameSize: 0, maxFrameSize: 0);
        stream.Flush();
    }

    protected override void WriteChunk(AudioClip chunk)
    {
        for (int done = 0; done < chunk.Length;)
        {
            int take = Math.Min(FlacEncoder.BlockSize - _buffered, chunk.Length - done);
            for (int c = 0; c < Channels; c++)
            {
                ReadOnlySpan<float> source = chunk.Channels[c].AsSpan(done, take);
                Span<int> target = _block[c].AsSpan(_buffered, take);
                for (int i = 0; i < take; i++) target[i] = SampleFormats.Quantize(source[i], _bits);
            }
            (_buffered, done) = (_buffered + take, done + take);
            if (_buffered == FlacEncoder.BlockSize) EncodeBlock();
        }
        _stream.Flush();
    }

    protected override void FinishStream()
    {
        if (_buffered > 0) EncodeBlock();
        if (_streamInfoAt >= 0)
        {
            long end = _stream.Position;
            _stream.Position = _streamInfoAt;
            WriteStreamInfo(Frames, _md5.GetHashAndReset(), _frameNumber == 0 ? 0 : _minFrameSize, _maxFrameSize);
            _stream.Position = end;
        }
        else if (_declaredFrames is { } declared && declared != Frames)
        {
            throw new InvalidOperationException($"the FLAC stream declared {declared} frames but {Frames} were written");
        }
        _stream.Flush();
    }

    private void EncodeBlock()
    {
        HashSamples(_buffered);
        _frame.Clear();
        _encoder.EncodeFrame(_frame, _block, _buffered, _frameNumber++);
        _stream.Write(_frame.Bytes);
        _minFrameSize = Math.Min(_minFrameSize, _frame.ByteCount);
        _maxFrameSize = Math.Max(_maxFrameSize, _frame.ByteCount);
        _buffered = 0;
    }

    /// <summary>STREAMINFO's MD5 is of the samples interleaved, little-endian, in whole bytes.</summary>
    private void HashSamples(int length)
    {
        int bytesPerSample = _bits / 8, at = 0;
        for (int i = 0; i < length; i++)
            for (int c = 0; c < Channels; c++)
            {
                int sample = _block[c][i];
                for (int b = 0; b < bytesPerSample; b++) _md5Bytes[at++] = (byte)(sample >> (8 * b));
            }
        _md5.AppendData(_md5Bytes, 0, at);
    }

    private void WriteStreamInfo(long totalSamples, byte[] md5, int minFrameSize, int maxFrameSize)
    {
        Span<byte> block = stackalloc byte[4 + FlacStreamInfo.Size];
        block[0] = 0x80; // the last metadata block, of type 0 (STREAMINFO)
        block[3] = FlacStreamInfo.Size;
        new FlacStreamInfo(FlacEncoder.BlockSize, FlacEncoder.BlockSize, minFrameSize, maxFrameSize, SampleRate, Channels, _bits, totalSamples, md5)
            .WriteTo(block[4..]);
        _stream.Write(block);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _md5.Dispose();
    }
}
