using System.Buffers.Binary;
using Concentus.Structs;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio.Ogg;

/// <summary>
/// Decodes Opus in Ogg (RFC 7845, channel mapping family 0: mono or stereo) with Concentus, at 48 kHz: the
/// pre-skip is dropped, the last page's granule position trims the end, and the header's output gain is applied.
/// </summary>
public static class OpusReader
{
    /// <summary>The most samples per channel one packet decodes to: 120 ms at 48 kHz.</summary>
    private const int MaxPacketSamples = 5760;

    public static AudioClip Read(Stream stream, string displayName, double maxSeconds)
    {
        var packets = new OggPacketReader(stream, displayName);
        byte[] head = packets.Next()?.Packet ?? throw new MusicGenException($"{displayName}: the Ogg stream is empty");
        if (head.Length < 19 || !head.AsSpan(0, 8).SequenceEqual("OpusHead"u8)) throw Corrupt(displayName, "the first packet is not an OpusHead header");
        if (head[8] >> 4 != 0) throw Corrupt(displayName, $"OpusHead version {head[8]} is not supported");
        int channels = head[9], preSkip = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(10)), family = head[18];
        float gain = MathF.Pow(10, BinaryPrimitives.ReadInt16LittleEndian(head.AsSpan(16)) / (20f * 256));
        if (family != 0 || channels is < 1 or > 2)
            throw new MusicGenException($"{displayName}: Ogg Opus with {channels} channels (channel mapping family {family}) is not read here; convert it to mono or stereo");
        byte[] tags = packets.Next()?.Packet ?? throw new MusicGenException($"{displayName}: truncated: the Ogg Opus stream ends before its comment header");
        if (tags.Length < 8 || !tags.AsSpan(0, 8).SequenceEqual("OpusTags"u8)) throw Corrupt(displayName, "the second packet is not an OpusTags header");

        // Pre-skip samples are decoded and dropped: the limit counts them too.
        var audio = new PcmAccumulator(displayName, OpusWriter.Rate, channels, maxSeconds + (double)preSkip / OpusWriter.Rate);
        // The managed decoder itself, not OpusCodecFactory's (which may pick a native libopus): the same result everywhere.
#pragma warning disable CS0618
        using var decoder = new OpusDecoder(OpusWriter.Rate, channels);
#pragma warning restore CS0618
        var pcm = new float[MaxPacketSamples * channels];
        long endGranule = -1, number = 0;
        while (packets.Next() is var (packet, granule, _))
        {
            int decoded;
            try
            {
                decoded = decoder.Decode(packet, pcm, MaxPacketSamples, false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Concentus reports a damaged packet by whatever exception its C port happens to throw.
                throw new MusicGenException($"{displayName}: Opus packet {number} cannot be decoded ({e.Message})", e);
            }
            if (decoded < 0) throw Corrupt(displayName, $"Opus packet {number} cannot be decoded (error {decoded})");
            audio.AppendInterleaved(pcm, decoded);
            if (granule >= 0) endGranule = granule;
            number++;
        }
        var clip = audio.ToClip();
        long end = endGranule >= preSkip ? Math.Min(endGranule, clip.Length) : clip.Length;
        int start = (int)Math.Min(preSkip, end);
        return new AudioClip(OpusWriter.Rate, clip.Channels.Select(c =>
        {
            var kept = c.AsSpan(start, (int)end - start).ToArray();
            if (gain != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(kept, gain, kept);
            return kept;
        }).ToArray());
    }

    private static MusicGenException Corrupt(string displayName, string what) => new($"{displayName}: not a valid Ogg Opus stream: {what}");
}
