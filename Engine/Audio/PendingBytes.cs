namespace MusicGen.Engine.Audio;

/// <summary>
/// Where an <see cref="AudioWriter"/> writes the bytes of a stream passed on chunk by chunk (an HTTP response, a
/// client's streaming updates) until they are taken: the writers write synchronously, ffmpeg's output arrives on a
/// thread of its own, and the taker may be asynchronous. Holds only what was written since the last take.
/// </summary>
public sealed class PendingBytes : Stream
{
    private readonly MemoryStream _bytes = new();

    /// <summary>Bytes written and not yet taken.</summary>
    public override long Length
    {
        get
        {
            lock (_bytes) return _bytes.Length;
        }
    }

    /// <summary>What was written since the last call, emptied.</summary>
    public byte[] Take()
    {
        lock (_bytes)
        {
            byte[] taken = _bytes.ToArray();
            _bytes.SetLength(0);
            return taken;
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_bytes) _bytes.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush() { }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
