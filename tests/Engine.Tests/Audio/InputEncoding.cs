using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;

namespace MusicGen.Tests.Audio;

/// <summary>One encoded sample and the float the reader must turn it into.</summary>
public sealed record EncodedSample(byte[] Bytes, float Expected);

/// <summary>
/// A sample encoding the WAV reader must accept, with its own encoder and the exact value each code decodes to
/// (integers divided by 2^(bits-1), 8-bit ones centred on 128), written independently of the engine.
/// </summary>
public sealed record InputEncoding(bool IsFloat, int Bits, bool Extensible)
{
    public static IReadOnlyList<InputEncoding> All { get; } =
    [
        .. new[] { false, true }.SelectMany(extensible => new[]
        {
            new InputEncoding(false, 8, extensible), new InputEncoding(false, 16, extensible),
            new InputEncoding(false, 24, extensible), new InputEncoding(false, 32, extensible),
            new InputEncoding(true, 32, extensible), new InputEncoding(true, 64, extensible),
        }),
    ];

    public ushort FormatTag => IsFloat ? (ushort)3 : (ushort)1;

    public byte[] FormatBody(int channels, int sampleRate) => Extensible
        ? WavBuilder.ExtensibleFormatBody(FormatTag, channels, sampleRate, Bits)
        : WavBuilder.FormatBody(FormatTag, channels, sampleRate, Bits);

    /// <summary>Any code of this encoding, with the extremes drawn often.</summary>
    public Gen<EncodedSample> Samples => (IsFloat, Bits) switch
    {
        (false, 8) => IntegerCodes(0, 255).Select(code => new EncodedSample([(byte)code], (code - 128) / 128f)),
        (false, _) => IntegerCodes(-(1 << (Bits - 1)), (int)((1L << (Bits - 1)) - 1))
            .Select(code => new EncodedSample(LittleEndian(code, Bits / 8), (float)(code / Math.Pow(2, Bits - 1)))),
        (true, 32) => ArbMap.Default.GeneratorFor<float>().Select(value => new EncodedSample(Float32(value), value)),
        _ => ArbMap.Default.GeneratorFor<double>().Select(value => new EncodedSample(Float64(value), (float)value)),
    };

    public override string ToString() => $"{(Extensible ? "extensible " : "")}{Bits}-bit {(IsFloat ? "float" : "PCM")}";

    private static Gen<int> IntegerCodes(int min, int max) =>
        Gen.Frequency((4, Gen.Choose(min, max)), (1, Gen.Elements(min, max)));

    private static byte[] LittleEndian(int code, int width)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, code);
        return bytes[..width];
    }

    private static byte[] Float32(float value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Float64(double value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        return bytes;
    }
}

/// <summary>A generated multi-channel clip in one input encoding: the WAV bytes to read and the planar floats expected back.</summary>
public sealed record EncodedClip(InputEncoding Encoding, int ChannelCount, int SampleRate, EncodedSample[] Interleaved)
{
    public int Length => Interleaved.Length / ChannelCount;

    public byte[] FormatBody => Encoding.FormatBody(ChannelCount, SampleRate);

    public byte[] DataBody => [.. Interleaved.SelectMany(sample => sample.Bytes)];

    public float[][] Expected =>
    [
        .. Enumerable.Range(0, ChannelCount)
            .Select(c => Enumerable.Range(0, Length).Select(i => Interleaved[i * ChannelCount + c].Expected).ToArray()),
    ];

    public byte[] ToWav() => new WavBuilder().Chunk("fmt ", FormatBody).Data(DataBody).ToArray();

    public override string ToString() => $"{Encoding}, {ChannelCount} channel(s), {SampleRate} Hz, {Length} frame(s)";

    /// <summary>1–4 channels, 0, 1 or up to 300 frames, any sample rate.</summary>
    public static Gen<EncodedClip> Generate(InputEncoding encoding) =>
        from channels in Gen.Choose(1, 4)
        from length in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Constant(1)), (6, Gen.Choose(2, 300)))
        from sampleRate in Gen.Frequency((3, Gen.Elements(8000, 32000, 44100, 48000)), (1, Gen.Choose(1, 384000)))
        from samples in Gen.ArrayOf(encoding.Samples, channels * length)
        select new EncodedClip(encoding, channels, sampleRate, samples);
}
