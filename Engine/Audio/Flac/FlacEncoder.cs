namespace MusicGen.Engine.Audio.Flac;

/// <summary>
/// Encodes blocks of integer samples as FLAC frames (RFC 9639) with the tools of a small encoder: per channel the
/// cheapest of a constant, a verbatim or a fixed-predictor subframe (orders 0–4), its residual Rice-coded in the
/// partitioning that costs the fewest bits, and for stereo the cheapest of independent, left/side, right/side and
/// mid/side channels. Frames have a fixed block size, the last one shorter.
/// </summary>
public sealed class FlacEncoder
{
    /// <summary>Samples per channel in a frame: libFLAC's default, good for compression at any common rate.</summary>
    public const int BlockSize = 4096;

    /// <summary>The most Rice partitions is 2^MaxPartitionOrder: finer ones rarely pay for their parameters.</summary>
    private const int MaxPartitionOrder = 8;

    private const int MaxFixedOrder = 4;

    private readonly int _bitsPerSample;
    private readonly int _sampleRate;
    private readonly int _channels;
    private readonly int[] _side = new int[BlockSize], _mid = new int[BlockSize], _residual = new int[BlockSize];
    private readonly uint[] _folded = new uint[BlockSize];
    private readonly int[] _parameters = new int[1 << MaxPartitionOrder], _bestParameters = new int[1 << MaxPartitionOrder];

    public FlacEncoder(int sampleRate, int channels, int bitsPerSample)
    {
        if (channels is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(channels), channels, "FLAC holds 1 to 8 channels");
        if (bitsPerSample is not (16 or 24)) throw new ArgumentOutOfRangeException(nameof(bitsPerSample), bitsPerSample, "16 or 24 bits");
        if (sampleRate is < 1 or > 655350) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "FLAC frames hold rates up to 655350 Hz");
        (_sampleRate, _channels, _bitsPerSample) = (sampleRate, channels, bitsPerSample);
    }

    /// <summary>
    /// Appends frame <paramref name="frameNumber"/> holding <paramref name="length"/> samples of each channel (at most
    /// <see cref="BlockSize"/>) to <paramref name="output"/>, byte-aligned, its header CRC-8 and frame CRC-16 included.
    /// </summary>
    public void EncodeFrame(FlacBitWriter output, int[][] block, int length, long frameNumber)
    {
        if (length is < 1 or > BlockSize) throw new ArgumentOutOfRangeException(nameof(length));
        int start = output.ByteCount;
        var (assignment, first, second) = _channels == 2 ? ChooseStereo(block[0], block[1], length) : (_channels - 1, block[0], block[0]);
        WriteHeader(output, length, frameNumber, assignment);
        output.Write(FlacCrc.Crc8(output.Bytes[start..]), 8);
        if (_channels == 2)
        {
            // Side channels carry one bit more than the samples.
            EncodeSubframe(output, first.AsSpan(0, length), _bitsPerSample + (assignment == RightSide ? 1 : 0));
            EncodeSubframe(output, second.AsSpan(0, length), _bitsPerSample + (assignment is LeftSide or MidSide ? 1 : 0));
        }
        else
        {
            for (int c = 0; c < _channels; c++) EncodeSubframe(output, block[c].AsSpan(0, length), _bitsPerSample);
        }
        output.AlignToByte();
        output.Write(FlacCrc.Crc16(output.Bytes[start..]), 16);
    }

    private const int Independent = 1, LeftSide = 8, RightSide = 9, MidSide = 10;

    /// <summary>The stereo channel assignment whose two subframes are estimated cheapest, and those subframes' samples.</summary>
    private (int Assignment, int[] First, int[] Second) ChooseStereo(int[] left, int[] right, int n)
    {
        for (int i = 0; i < n; i++)
        {
            _side[i] = left[i] - right[i];
            _mid[i] = (left[i] + right[i]) >> 1;
        }
        long l = EstimateBits(left.AsSpan(0, n)), r = EstimateBits(right.AsSpan(0, n));
        long s = EstimateBits(_side.AsSpan(0, n)), m = EstimateBits(_mid.AsSpan(0, n));
        long best = Math.Min(Math.Min(l + r, l + s), Math.Min(r + s, m + s));
        if (best == l + r) return (Independent, left, right);
        if (best == l + s) return (LeftSide, left, _side);
        if (best == r + s) return (RightSide, _side, right);
        return (MidSide, _mid, _side);
    }

    /// <summary>Bits of the best fixed predictor's residual, estimated from its sum of magnitudes.</summary>
    private long EstimateBits(ReadOnlySpan<int> samples)
    {
        int order = BestFixedOrder(samples, out long magnitude);
        int n = samples.Length - order;
        if (n <= 0) return 0;
        double mean = (double)magnitude / n;
        int k = mean < 1 ? 0 : (int)Math.Log2(mean);
        return n * (k + 1L) + (magnitude >> k);
    }

    private void EncodeSubframe(FlacBitWriter output, ReadOnlySpan<int> samples, int bits)
    {
        int n = samples.Length;
        if (!samples.ContainsAnyExcept(samples[0]))
        {
            output.Write(0b0_000000_0, 8); // constant
            output.WriteSigned(samples[0], bits);
            return;
        }
        int order = BestFixedOrder(samples, out _);
        Residual(samples, order, _residual);
        var residual = _residual.AsSpan(0, n - order);
        for (int i = 0; i < residual.Length; i++) _folded[i] = FlacBitWriter.Fold(residual[i]);
        long riceBits = ChoosePartitions(_folded.AsSpan(0, residual.Length), n, order, out int partitionOrder, out bool wide);
        long fixedBits = 8 + (long)order * bits + 6 + riceBits;
        if (fixedBits >= 8 + (long)n * bits)
        {
            output.Write(0b0_000001_0, 8); // verbatim
            foreach (int sample in samples) output.WriteSigned(sample, bits);
            return;
        }
        output.Write((uint)(0b0_001000_0 | order << 1), 8); // fixed, order in the low bits of the type
        for (int i = 0; i < order; i++) output.WriteSigned(samples[i], bits);
        output.Write(wide ? 1u : 0u, 2);
        output.Write((uint)partitionOrder, 4);
        int partitions = 1 << partitionOrder, perPartition = n >> partitionOrder, at = 0;
        for (int p = 0; p < partitions; p++)
        {
            int count = perPartition - (p == 0 ? order : 0), k = _bestParameters[p];
            output.Write((uint)k, wide ? 5 : 4);
            for (int i = 0; i < count; i++) output.WriteRice(residual[at + i], k);
            at += count;
        }
    }

    /// <summary>The fixed predictor order (0–4, below the block length) with the smallest sum of residual magnitudes.</summary>
    internal static int BestFixedOrder(ReadOnlySpan<int> x, out long magnitude)
    {
        int n = x.Length;
        Span<long> sums = stackalloc long[MaxFixedOrder + 1];
        for (int i = MaxFixedOrder; i < n; i++)
        {
            long e0 = x[i], e1 = e0 - x[i - 1], e2 = e1 - (x[i - 1] - x[i - 2]);
            long e3 = e2 - (x[i - 1] - 2L * x[i - 2] + x[i - 3]);
            long e4 = e3 - (x[i - 1] - 3L * x[i - 2] + 3L * x[i - 3] - x[i - 4]);
            sums[0] += Math.Abs(e0); sums[1] += Math.Abs(e1); sums[2] += Math.Abs(e2); sums[3] += Math.Abs(e3); sums[4] += Math.Abs(e4);
        }
        int best = 0;
        int highest = Math.Min(MaxFixedOrder, n - 1);
        for (int order = 1; order <= highest; order++)
            if (sums[order] < sums[best]) best = order;
        magnitude = sums[best];
        return best;
    }

    /// <summary>The residual of the fixed predictor of <paramref name="order"/> (RFC 9639 §9.2.5), from sample <c>order</c> on.</summary>
    internal static void Residual(ReadOnlySpan<int> x, int order, Span<int> residual)
    {
        for (int i = order; i < x.Length; i++)
        {
            residual[i - order] = order switch
            {
                0 => x[i],
                1 => x[i] - x[i - 1],
                2 => x[i] - 2 * x[i - 1] + x[i - 2],
                3 => x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3],
                _ => x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3] + x[i - 4],
            };
        }
    }

    /// <summary>
    /// The partition order (each partition's Rice parameter chosen by <see cref="BestRiceParameter"/>) whose coded
    /// residual is shortest, in bits with the parameters; the parameters are left in _bestParameters. Wide: 5-bit
    /// parameters are needed (one above 14).
    /// </summary>
    private long ChoosePartitions(ReadOnlySpan<uint> folded, int blockLength, int predictorOrder, out int bestOrder, out bool wide)
    {
        long bestBits = long.MaxValue;
        bestOrder = 0;
        wide = false;
        for (int order = 0; order <= MaxPartitionOrder; order++)
        {
            if ((blockLength & ((1 << order) - 1)) != 0 || (blockLength >> order) <= predictorOrder) break;
            int partitions = 1 << order, perPartition = blockLength >> order, at = 0;
            long bits = 0;
            bool orderWide = false;
            for (int p = 0; p < partitions; p++)
            {
                int count = perPartition - (p == 0 ? predictorOrder : 0);
                var part = folded.Slice(at, count);
                int k = BestRiceParameter(part, out long partBits);
                _parameters[p] = k;
                orderWide |= k > 14;
                bits += partBits;
                at += count;
            }
            bits += partitions * (orderWide ? 5L : 4L);
            if (bits < bestBits)
            {
                (bestBits, bestOrder, wide) = (bits, order, orderWide);
                _parameters.AsSpan(0, partitions).CopyTo(_bestParameters);
            }
        }
        return bestBits;
    }

    /// <summary>The largest Rice parameter a residual may use (5-bit parameters, 31 meaning escape).</summary>
    public const int MaxRiceParameter = 30;

    /// <summary>
    /// The Rice parameter k that codes <paramref name="folded"/> in the fewest bits, and that count:
    /// Σ (1 + k + (u &gt;&gt; k)). The count is convex in k, so a descent from the estimate log2(mean) ends at the minimum.
    /// </summary>
    public static int BestRiceParameter(ReadOnlySpan<uint> folded, out long bits)
    {
        if (folded.Length == 0)
        {
            bits = 0;
            return 0;
        }
        ulong sum = 0;
        foreach (uint u in folded) sum += u;
        int k = Math.Clamp(sum <= (ulong)folded.Length ? 0 : (int)Math.Log2((double)sum / folded.Length), 0, MaxRiceParameter);
        bits = RiceBits(folded, k);
        while (k > 0 && RiceBits(folded, k - 1) is long lower && lower <= bits) (k, bits) = (k - 1, lower);
        while (k < MaxRiceParameter && RiceBits(folded, k + 1) is long higher && higher < bits) (k, bits) = (k + 1, higher);
        return k;
    }

    /// <summary>Bits of <paramref name="folded"/> Rice-coded with parameter <paramref name="k"/>.</summary>
    public static long RiceBits(ReadOnlySpan<uint> folded, int k)
    {
        long bits = (long)folded.Length * (k + 1);
        foreach (uint u in folded) bits += u >> k;
        return bits;
    }

    private void WriteHeader(FlacBitWriter output, int length, long frameNumber, int assignment)
    {
        output.Write(0b11111111111110, 14); // sync
        output.Write(0, 1); // reserved
        output.Write(0, 1); // fixed block size: the header holds the frame number
        int blockCode = length == BlockSize ? 0b1100 : length <= 256 ? 0b0110 : 0b0111;
        var (rateCode, rateBits, rateValue) = SampleRateCode(_sampleRate);
        output.Write((uint)blockCode, 4);
        output.Write((uint)rateCode, 4);
        output.Write((uint)assignment, 4);
        output.Write(_bitsPerSample == 16 ? 0b100u : 0b110u, 3);
        output.Write(0, 1); // reserved
        WriteCodedNumber(output, frameNumber);
        if (blockCode == 0b0110) output.Write((uint)(length - 1), 8);
        else if (blockCode == 0b0111) output.Write((uint)(length - 1), 16);
        if (rateBits > 0) output.Write((uint)rateValue, rateBits);
    }

    /// <summary>The header's sample rate code, and the bits and value that follow the header for a rate without a code of its own.</summary>
    private static (int Code, int Bits, int Value) SampleRateCode(int rate) => rate switch
    {
        88200 => (0b0001, 0, 0),
        176400 => (0b0010, 0, 0),
        192000 => (0b0011, 0, 0),
        8000 => (0b0100, 0, 0),
        16000 => (0b0101, 0, 0),
        22050 => (0b0110, 0, 0),
        24000 => (0b0111, 0, 0),
        32000 => (0b1000, 0, 0),
        44100 => (0b1001, 0, 0),
        48000 => (0b1010, 0, 0),
        96000 => (0b1011, 0, 0),
        _ when rate % 1000 == 0 && rate / 1000 <= 255 => (0b1100, 8, rate / 1000),
        _ when rate <= 65535 => (0b1101, 16, rate),
        _ when rate % 10 == 0 && rate / 10 <= 65535 => (0b1110, 16, rate / 10),
        _ => (0b0000, 0, 0), // from STREAMINFO
    };

    /// <summary>The frame number in FLAC's UTF-8-like coding (up to 36 bits in 7 bytes).</summary>
    private static void WriteCodedNumber(FlacBitWriter output, long value)
    {
        if (value < 0x80)
        {
            output.Write((uint)value, 8);
            return;
        }
        int bytes = 2;
        while (bytes < 7 && value >= 1L << (5 * bytes + 1)) bytes++;
        int leadBits = 7 - bytes; // payload bits in the first byte
        uint lead = (uint)((0xFF00 >> bytes) & 0xFF);
        output.Write(lead | (uint)(value >> (6 * (bytes - 1))) & ((1u << leadBits) - 1), 8);
        for (int i = bytes - 2; i >= 0; i--) output.Write(0x80u | (uint)(value >> (6 * i)) & 0x3F, 8);
    }
}
