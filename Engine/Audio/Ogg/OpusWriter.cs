using System.Buffers.Binary;
using System.Text;
using Concentus.Enums;
using Concentus.Structs;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio.Ogg;

/// <summary>
/// Writes Opus in Ogg (RFC 7845) as the audio arrives: the audio is resampled to 48 kHz (Opus's rate) by a
/// <see cref="StreamingResampler"/>, encoded by Concentus in 20 ms packets, and written a page per chunk after the
/// OpusHead and OpusTags pages. Pre-skip is the encoder's lookahead; the last page's granule position trims the
/// padding of the last packet, so decoders return exactly the resampled length.
/// </summary>
public sealed class OpusWriter : AudioWriter
{
    public const int Rate = 48000;

    /// <summary>Samples per channel in a packet: 20 ms, Opus's usual frame.</summary>
    private const int FrameSize = 960;

    /// <summary>Bits per second per channel: transparent for most music at 64 kb/s per channel.</summary>
    private const int BitratePerChannel = 64000;

    /// <summary>All Ogg streams this writer makes are single logical streams, so one serial number serves (and keeps outputs reproducible).</summary>
    private const uint SerialNumber = 0x4D757347;

    private readonly Stream _stream;
    private readonly OggPageWriter _pages;
    private readonly OpusEncoder _encoder;
    private readonly StreamingResampler? _resampler;
    private readonly float[] _frame;
    private readonly byte[] _packet = new byte[4000];
    private readonly int _preSkip;
    private int _buffered;
    private long _samples48, _packets;

    public OpusWriter(Stream stream, int sampleRate, int channels, string displayName = "Opus output") : base(sampleRate, channels)
    {
        if (channels > 2) throw new MusicGenException($"{displayName}: Opus output holds mono or stereo, not {channels} channels");
        _stream = stream;
        _pages = new OggPageWriter(stream, SerialNumber);
        // The managed encoder itself, not OpusCodecFactory's (which may pick a native libopus found on the machine):
        // the same output everywhere.
#pragma warning disable CS0618
        _encoder = new OpusEncoder(Rate, channels, OpusApplication.OPUS_APPLICATION_AUDIO) { Bitrate = BitratePerChannel * channels };
#pragma warning restore CS0618
        _resampler = sampleRate == Rate ? null : new StreamingResampler(sampleRate, Rate, channels);
        _frame = new float[FrameSize * channels];
        _preSkip = _encoder.Lookahead;
        _pages.WritePacket(OpusHead(channels, _preSkip, sampleRate), 0);
        _pages.FlushPage();
        _pages.WritePacket(OpusTags(), 0);
        _pages.FlushPage();
        stream.Flush();
    }

    protected override void WriteChunk(AudioClip chunk)
    {
        Encode(_resampler is null ? chunk.Channels : _resampler.Push(chunk.Channels));
        _pages.FlushPage();
        _stream.Flush();
    }

    protected override void FinishStream()
    {
        if (_resampler is not null) Encode(_resampler.Finish());
        // The encoder's output lags by the pre-skip: zeros push the last real samples out, and whole packets need
        // whole frames. The final granule position says where the real audio ends.
        long end = _preSkip + _samples48;
        var silence = Enumerable.Range(0, Channels).Select(_ => new float[FrameSize]).ToArray();
        while (_packets * FrameSize < end) EncodeFrames(silence, FrameSize, finalGranule: end);
        _pages.FlushPage(last: true);
        _stream.Flush();
    }

    /// <summary>Planar 48 kHz samples into packets, a whole frame at a time, the rest kept for the next call.</summary>
    private void Encode(float[][] planar)
    {
        _samples48 += planar[0].Length;
        EncodeFrames(planar, planar[0].Length, finalGranule: null);
    }

    private void EncodeFrames(float[][] planar, int length, long? finalGranule)
    {
        for (int done = 0; done < length;)
        {
            int take = Math.Min(FrameSize - _buffered, length - done);
            for (int i = 0; i < take; i++)
                for (int c = 0; c < Channels; c++) _frame[(_buffered + i) * Channels + c] = planar[c][done + i];
            (_buffered, done) = (_buffered + take, done + take);
            if (_buffered < FrameSize) continue;
            int bytes = _encoder.Encode(_frame, FrameSize, _packet, _packet.Length);
            _packets++;
            long granule = _packets * FrameSize;
            _pages.WritePacket(_packet.AsSpan(0, bytes), finalGranule is { } last && granule >= last ? last : granule);
            _buffered = 0;
        }
    }

    /// <summary>The identification header (RFC 7845 §5.1), channel mapping family 0.</summary>
    private static byte[] OpusHead(int channels, int preSkip, int inputRate)
    {
        var head = new byte[19];
        "OpusHead"u8.CopyTo(head);
        head[8] = 1; // version
        head[9] = (byte)channels;
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(10), (ushort)preSkip);
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(12), (uint)inputRate);
        // Output gain 0 and mapping family 0 are the zeros already there.
        return head;
    }

    /// <summary>The comment header (RFC 7845 §5.2): the vendor string and no comments.</summary>
    private static byte[] OpusTags()
    {
        byte[] vendor = Encoding.UTF8.GetBytes("MusicGen for .NET, Concentus " + typeof(OpusEncoder).Assembly.GetName().Version);
        var tags = new byte[8 + 4 + vendor.Length + 4];
        "OpusTags"u8.CopyTo(tags);
        BinaryPrimitives.WriteUInt32LittleEndian(tags.AsSpan(8), (uint)vendor.Length);
        vendor.CopyTo(tags, 12);
        return tags;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _encoder.Dispose();
    }
}
