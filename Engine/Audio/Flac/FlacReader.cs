using System.Security.Cryptography;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio.Flac;

/// <summary>
/// Decodes a FLAC stream (RFC 9639) whole: every subframe type (constant, verbatim, fixed, LPC), wasted bits, Rice
/// and escaped partitions, the stereo decorrelations, 4 to 32 bits, fixed and variable block sizes. Every frame's
/// CRC-8 and CRC-16 are checked, and the MD5 of STREAMINFO when it is set, so a damaged file is an error naming
/// what is wrong rather than noise. Samples are divided by 2^(bits−1), as the WAV reader does.
/// </summary>
public static class FlacReader
{
    /// <summary>The stream from its current position; longer than <paramref name="maxSeconds"/> is refused.</summary>
    public static AudioClip Read(Stream stream, string displayName, double maxSeconds)
    {
        var reader = new FlacBitReader(stream, displayName);
        Span<byte> magic = stackalloc byte[4];
        reader.ReadBytes(magic);
        if (!magic.SequenceEqual("fLaC"u8)) throw reader.Corrupt("it does not start with fLaC");
        var info = ReadMetadata(reader, displayName);
        var audio = new PcmAccumulator(displayName, info.SampleRate, info.Channels, maxSeconds, info.TotalSamples == 0 ? null : info.TotalSamples);
        bool checkMd5 = info.Md5.AsSpan().ContainsAnyExcept((byte)0);
        using var md5 = checkMd5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        var frame = new FrameDecoder(reader, info);
        for (long number = 0; !reader.AtEnd; number++)
        {
            int length = frame.Decode(number);
            for (int c = 0; c < info.Channels; c++)
            {
                Span<float> target = audio.Reserve(c, length);
                long[] samples = frame.Samples[c];
                double scale = 1.0 / (1L << (info.BitsPerSample - 1));
                for (int i = 0; i < length; i++) target[i] = (float)(samples[i] * scale);
            }
            audio.Commit(length);
            if (md5 is not null) frame.Hash(md5, length);
        }
        if (info.TotalSamples != 0 && audio.Length != info.TotalSamples)
            throw new MusicGenException(audio.Length < info.TotalSamples
                ? $"{displayName}: truncated: STREAMINFO declares {info.TotalSamples} samples per channel but the frames hold {audio.Length}"
                : $"{displayName}: not a valid FLAC stream: the frames hold {audio.Length} samples per channel, more than the {info.TotalSamples} STREAMINFO declares");
        if (md5 is not null && !md5.GetHashAndReset().AsSpan().SequenceEqual(info.Md5))
            throw new MusicGenException($"{displayName}: the decoded samples do not match the MD5 signature in STREAMINFO: the file is damaged");
        return audio.ToClip();
    }

    private static FlacStreamInfo ReadMetadata(FlacBitReader reader, string displayName)
    {
        FlacStreamInfo? info = null;
        Span<byte> body = stackalloc byte[FlacStreamInfo.Size];
        for (bool last = false; !last;)
        {
            last = reader.ReadBits(1) == 1;
            uint type = reader.ReadBits(7), length = reader.ReadBits(24);
            if (info is null)
            {
                if (type != 0 || length != FlacStreamInfo.Size) throw reader.Corrupt("the first metadata block is not a STREAMINFO block");
                reader.ReadBytes(body);
                info = FlacStreamInfo.Read(body);
            }
            else if (type == 127)
            {
                throw reader.Corrupt("a metadata block has the forbidden type 127");
            }
            else
            {
                reader.SkipBytes(length);
            }
        }
        if (info!.SampleRate == 0) throw reader.Corrupt("STREAMINFO declares a sample rate of 0");
        if (info.BitsPerSample < 4) throw reader.Corrupt($"STREAMINFO declares {info.BitsPerSample}-bit samples (at least 4)");
        if (info.MaxBlockSize < 16 || info.MinBlockSize > info.MaxBlockSize)
            throw reader.Corrupt($"STREAMINFO declares block sizes from {info.MinBlockSize} to {info.MaxBlockSize}");
        return info;
    }

    /// <summary>Decodes one frame at a time into <see cref="Samples"/>, one array per channel.</summary>
    private sealed class FrameDecoder(FlacBitReader reader, FlacStreamInfo info)
    {
        private const int MaxBlockSize = 65536;
        private readonly long[] _coefficients = new long[32];
        private byte[] _md5Bytes = [];

        public long[][] Samples { get; } = Enumerable.Range(0, info.Channels).Select(_ => new long[MaxBlockSize]).ToArray();

        /// <summary>Decodes frame <paramref name="number"/> (counted from 0, for messages); returns its samples per channel.</summary>
        public int Decode(long number)
        {
            reader.Crc8 = 0;
            reader.Crc16 = 0;
            if (reader.ReadBits(14) != 0b11111111111110) throw reader.Corrupt($"frame {number} does not start with a frame sync code");
            if (reader.ReadBits(1) != 0) throw reader.Corrupt($"frame {number} sets a reserved bit");
            reader.ReadBits(1); // fixed or variable block size: the number that follows is not needed to decode
            uint blockCode = reader.ReadBits(4), rateCode = reader.ReadBits(4), assignment = reader.ReadBits(4), sizeCode = reader.ReadBits(3);
            if (reader.ReadBits(1) != 0) throw reader.Corrupt($"frame {number} sets a reserved bit");
            ReadCodedNumber(number);
            int length = blockCode switch
            {
                0 => throw reader.Corrupt($"frame {number} has the reserved block size code 0"),
                1 => 192,
                <= 5 => 576 << (int)(blockCode - 2),
                6 => (int)reader.ReadBits(8) + 1,
                7 => (int)reader.ReadBits(16) + 1,
                _ => 256 << (int)(blockCode - 8),
            };
            int rate = rateCode switch
            {
                0 => info.SampleRate,
                1 => 88200, 2 => 176400, 3 => 192000, 4 => 8000, 5 => 16000, 6 => 22050, 7 => 24000,
                8 => 32000, 9 => 44100, 10 => 48000, 11 => 96000,
                12 => (int)reader.ReadBits(8) * 1000,
                13 => (int)reader.ReadBits(16),
                14 => (int)reader.ReadBits(16) * 10,
                _ => throw reader.Corrupt($"frame {number} has the invalid sample rate code 15"),
            };
            int bits = sizeCode switch
            {
                0 => info.BitsPerSample,
                1 => 8, 2 => 12, 4 => 16, 5 => 20, 6 => 24, 7 => 32,
                _ => throw reader.Corrupt($"frame {number} has the reserved sample size code 3"),
            };
            byte headerCrc = reader.Crc8;
            if (reader.ReadBits(8) != headerCrc) throw reader.Corrupt($"frame {number}: the header's CRC-8 does not match");
            int channels = assignment <= 7 ? (int)assignment + 1 : assignment <= 10 ? 2 : throw reader.Corrupt($"frame {number} has the reserved channel assignment {assignment}");
            if (channels != info.Channels || rate != info.SampleRate || bits != info.BitsPerSample)
                throw reader.Corrupt($"frame {number} has {channels} channel(s), {rate} Hz, {bits} bits where STREAMINFO declares {info.Channels}, {info.SampleRate} Hz, {info.BitsPerSample} bits");

            for (int c = 0; c < channels; c++)
            {
                bool side = (assignment == 8 && c == 1) || (assignment == 9 && c == 0) || (assignment == 10 && c == 1);
                DecodeSubframe(Samples[c].AsSpan(0, length), bits + (side ? 1 : 0), number);
            }
            reader.AlignToByte();
            ushort frameCrc = reader.Crc16;
            if (reader.ReadBits(16) != frameCrc) throw reader.Corrupt($"frame {number}: the frame's CRC-16 does not match");
            Decorrelate(assignment, length);
            return length;
        }

        /// <summary>The frame or sample number in FLAC's UTF-8-like coding; only its form is checked.</summary>
        private void ReadCodedNumber(long number)
        {
            uint first = reader.ReadBits(8);
            int extra = first < 0x80 ? 0 : first < 0xC0 ? -1 : first < 0xE0 ? 1 : first < 0xF0 ? 2 : first < 0xF8 ? 3 : first < 0xFC ? 4 : first < 0xFE ? 5 : first == 0xFE ? 6 : -1;
            if (extra < 0) throw reader.Corrupt($"frame {number} has a malformed frame number");
            for (int i = 0; i < extra; i++)
                if ((reader.ReadBits(8) & 0xC0) != 0x80) throw reader.Corrupt($"frame {number} has a malformed frame number");
        }

        private void DecodeSubframe(Span<long> x, int bits, long number)
        {
            if (reader.ReadBits(1) != 0) throw reader.Corrupt($"frame {number}: a subframe's padding bit is set");
            uint type = reader.ReadBits(6);
            int wasted = reader.ReadBits(1) == 1 ? (int)reader.ReadUnary((uint)bits) + 1 : 0;
            int width = bits - wasted;
            if (width < 1) throw reader.Corrupt($"frame {number}: a subframe wastes all of its {bits} bits");
            switch (type)
            {
                case 0:
                    x.Fill(reader.ReadSignedLong(width));
                    break;
                case 1:
                    for (int i = 0; i < x.Length; i++) x[i] = reader.ReadSignedLong(width);
                    break;
                case >= 8 and <= 12:
                    DecodeFixed(x, (int)type - 8, width, number);
                    break;
                case >= 32:
                    DecodeLpc(x, (int)type - 31, width, number);
                    break;
                default:
                    throw reader.Corrupt($"frame {number}: a subframe has the reserved type {type}");
            }
            if (wasted > 0)
                for (int i = 0; i < x.Length; i++) x[i] <<= wasted;
        }

        private void DecodeFixed(Span<long> x, int order, int width, long number)
        {
            ReadWarmUp(x, order, width, number);
            ReadResidual(x, order, number);
            for (int i = order; i < x.Length; i++)
            {
                long prediction = order switch
                {
                    0 => 0,
                    1 => x[i - 1],
                    2 => 2 * x[i - 1] - x[i - 2],
                    3 => 3 * x[i - 1] - 3 * x[i - 2] + x[i - 3],
                    _ => 4 * x[i - 1] - 6 * x[i - 2] + 4 * x[i - 3] - x[i - 4],
                };
                x[i] = CheckRange(x[i] + prediction, width, number);
            }
        }

        private void DecodeLpc(Span<long> x, int order, int width, long number)
        {
            ReadWarmUp(x, order, width, number);
            uint precisionCode = reader.ReadBits(4);
            if (precisionCode == 15) throw reader.Corrupt($"frame {number}: an LPC subframe has the invalid coefficient precision code 15");
            int precision = (int)precisionCode + 1, shift = reader.ReadSigned(5);
            if (shift < 0) throw reader.Corrupt($"frame {number}: an LPC subframe has a negative shift");
            Span<long> coefficients = _coefficients.AsSpan(0, order);
            for (int j = 0; j < order; j++) coefficients[j] = reader.ReadSigned(precision);
            ReadResidual(x, order, number);
            for (int i = order; i < x.Length; i++)
            {
                long sum = 0;
                for (int j = 0; j < order; j++) sum += coefficients[j] * x[i - 1 - j];
                x[i] = CheckRange(x[i] + (sum >> shift), width, number);
            }
        }

        private void ReadWarmUp(Span<long> x, int order, int width, long number)
        {
            if (order > x.Length) throw reader.Corrupt($"frame {number}: a predictor of order {order} in a block of {x.Length} samples");
            for (int i = 0; i < order; i++) x[i] = reader.ReadSignedLong(width);
        }

        /// <summary>The residual into x[order..]: Rice-coded partitions, or escaped ones of raw signed values.</summary>
        private void ReadResidual(Span<long> x, int order, long number)
        {
            uint method = reader.ReadBits(2);
            if (method > 1) throw reader.Corrupt($"frame {number}: the reserved residual coding method {method}");
            int parameterBits = method == 0 ? 4 : 5, escape = (1 << parameterBits) - 1;
            int partitionOrder = (int)reader.ReadBits(4), partitions = 1 << partitionOrder;
            int perPartition = x.Length >> partitionOrder;
            if (perPartition << partitionOrder != x.Length || perPartition < order)
                throw reader.Corrupt($"frame {number}: {partitions} residual partitions do not fit a block of {x.Length} samples");
            int at = order;
            for (int p = 0; p < partitions; p++)
            {
                int count = perPartition - (p == 0 ? order : 0);
                int k = (int)reader.ReadBits(parameterBits);
                if (k == escape)
                {
                    int raw = (int)reader.ReadBits(5);
                    for (int i = 0; i < count; i++) x[at + i] = reader.ReadSigned(raw);
                }
                else
                {
                    uint limit = uint.MaxValue >> k;
                    for (int i = 0; i < count; i++)
                    {
                        ulong folded = (ulong)reader.ReadUnary(limit) << k | reader.ReadBits(k);
                        x[at + i] = (long)(folded >> 1) ^ -(long)(folded & 1);
                    }
                }
                at += count;
            }
        }

        /// <summary>A predicted sample must fit its subframe's width; anything else is damage that would otherwise decode as noise.</summary>
        private long CheckRange(long sample, int width, long number)
        {
            long limit = 1L << (width - 1);
            return sample >= -limit && sample < limit ? sample : throw reader.Corrupt($"frame {number}: a predicted sample does not fit its {width} bits");
        }

        /// <summary>Left/side, right/side and mid/side back to left and right.</summary>
        private void Decorrelate(uint assignment, int length)
        {
            Span<long> a = Samples[0].AsSpan(0, length);
            Span<long> b = info.Channels > 1 ? Samples[1].AsSpan(0, length) : default;
            switch (assignment)
            {
                case 8:
                    for (int i = 0; i < length; i++) b[i] = a[i] - b[i];
                    break;
                case 9:
                    for (int i = 0; i < length; i++) a[i] += b[i];
                    break;
                case 10:
                    for (int i = 0; i < length; i++)
                    {
                        long mid = a[i] << 1 | (b[i] & 1), side = b[i];
                        (a[i], b[i]) = ((mid + side) >> 1, (mid - side) >> 1);
                    }
                    break;
            }
        }

        /// <summary>Adds the frame's samples to the MD5: interleaved, little-endian, in whole bytes.</summary>
        public void Hash(IncrementalHash md5, int length)
        {
            int bytesPerSample = (info.BitsPerSample + 7) / 8, size = length * info.Channels * bytesPerSample, at = 0;
            if (_md5Bytes.Length < size) _md5Bytes = new byte[size];
            for (int i = 0; i < length; i++)
                for (int c = 0; c < info.Channels; c++)
                {
                    long sample = Samples[c][i];
                    for (int b = 0; b < bytesPerSample; b++) _md5Bytes[at++] = (byte)(sample >> (8 * b));
                }
            md5.AppendData(_md5Bytes, 0, size);
        }
    }
}
