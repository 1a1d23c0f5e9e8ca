using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Models;

public class EncodecTests
{
    private static EncodecConfig GoldenConfig()
    {
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("encodec-32khz"), "model"));
        return checkpoint.Codec;
    }

    /// <summary>The reference's padding arithmetic, literally: float division, ceil, then the asymmetric split.</summary>
    private static (int Left, int Right) ReferencePadding(int length, int kernel, int stride, int dilation, bool causal)
    {
        int effective = (kernel - 1) * dilation + 1;
        int total = effective - stride;
        double frames = (double)(length - effective + total) / stride + 1;
        int idealLength = ((int)Math.Ceiling(frames) - 1) * stride + effective - total;
        int extra = idealLength - length;
        if (causal) return (total, extra);
        int right = total / 2;
        return (total - right, right + extra);
    }

    [Fact]
    public void Conv_padding_matches_the_reference_and_gives_whole_frames_for_any_length()
    {
        using var folder = new TempFolder();
        var baseConfig = GoldenConfig();
        Properties.ForAll(Properties.Ints((1, 5000), (1, 16), (1, 8), (1, 4), (0, 1)), s =>
        {
            var (length, kernel, stride, dilation, causal) = (s[0], s[1], s[2], s[3], s[4] == 1);
            if ((kernel - 1) * dilation + 1 < stride) return; // EnCodec never strides past its kernel
            var config = baseConfig with { UseCausalConv = causal };
            var conv = Conv(config, folder, kernel, stride, dilation);
            Assert.Equal(ReferencePadding(length, kernel, stride, dilation, causal), conv.Padding(length));
            var (left, right) = conv.Padding(length);
            int padded = length + left + right;
            Assert.Equal(conv.OutputLength(length), (padded - ((kernel - 1) * dilation + 1)) / stride + 1);
            Assert.Equal((length + stride - 1) / stride, conv.OutputLength(length));
        });
    }

    private static EncodecConv1d Conv(EncodecConfig config, TempFolder folder, int kernel, int stride, int dilation)
    {
        string modelFolder = Path.Combine(folder.Path, $"conv-{kernel}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(modelFolder);
        new SafetensorsWriter()
            .Add("conv.weight", [1, 1, kernel], new float[kernel])
            .Add("conv.bias", [1], [0f])
            .Save(Path.Combine(modelFolder, WeightStore.SingleFileName));
        using var store = WeightStore.Open(modelFolder);
        return new EncodecConv1d(new CpuBackend(), config, new WeightReader(store), 1, 1, kernel, stride, dilation);
    }

    private static (ResidualVectorQuantizer Quantizer, float[][] Codebooks) RandomQuantizer(TempFolder folder, int quantizers, int size, int dim, int seed)
    {
        var config = GoldenConfig() with { CodebookSize = size, CodebookDim = dim, TargetBandwidths = [quantizers * 0.5] };
        Assert.Equal(quantizers, config.NumQuantizers);
        var codebooks = Enumerable.Range(0, quantizers).Select(q => RandomData.Uniform(seed + q, size * dim)).ToArray();
        var writer = new SafetensorsWriter();
        for (int q = 0; q < quantizers; q++) writer.Add($"layers.{q}.codebook.embed", [size, dim], codebooks[q]);
        string modelFolder = Path.Combine(folder.Path, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(modelFolder);
        writer.Save(Path.Combine(modelFolder, WeightStore.SingleFileName));
        using var store = WeightStore.Open(modelFolder);
        return (new ResidualVectorQuantizer(new CpuBackend(), config, new WeightReader(store)), codebooks);
    }

    [Fact]
    public void Rvq_decode_is_the_sum_of_the_chosen_vectors()
    {
        using var folder = new TempFolder();
        Properties.ForAll(Properties.Ints((1, 4), (1, 3), (1, 6), (0, 1000)), s =>
        {
            var (quantizers, batch, frames, seed) = (s[0], s[1], s[2], s[3]);
            const int size = 16, dim = 5;
            var (rvq, codebooks) = RandomQuantizer(folder, quantizers, size, dim, seed);
            var random = new Random(seed);
            var codes = Enumerable.Range(0, batch * quantizers * frames).Select(_ => random.Next(size)).ToArray();
            using var embeddings = rvq.Decode(codes, batch, quantizers, frames);
            var actual = embeddings.ToArray(); // [B, D, F]
            for (int b = 0; b < batch; b++)
                for (int f = 0; f < frames; f++)
                    for (int e = 0; e < dim; e++)
                    {
                        // Summed in float, stage by stage, as the reference sums: the result is exact.
                        float sum = 0;
                        for (int q = 0; q < quantizers; q++) sum += codebooks[q][codes[(b * quantizers + q) * frames + f] * dim + e];
                        Assert.Equal(sum, actual[(b * dim + e) * frames + f]);
                    }
        }, cases: 40);
    }

    [Fact]
    public void Rvq_encode_picks_the_nearest_vector_for_each_residual()
    {
        using var folder = new TempFolder();
        Properties.ForAll(Properties.Ints((1, 4), (1, 2), (1, 6), (0, 1000)), s =>
        {
            var (quantizers, batch, frames, seed) = (s[0], s[1], s[2], s[3]);
            const int size = 32, dim = 4;
            var (rvq, codebooks) = RandomQuantizer(folder, quantizers, size, dim, seed);
            var input = RandomData.Uniform(seed + 99, batch * dim * frames, 2f); // [B, D, F]
            using var backend = new CpuBackend();
            using var embeddings = backend.Upload(input, batch, dim, frames);
            var codes = rvq.Encode(embeddings, quantizers);
            for (int b = 0; b < batch; b++)
                for (int f = 0; f < frames; f++)
                {
                    var residual = Enumerable.Range(0, dim).Select(e => input[(b * dim + e) * frames + f]).ToArray();
                    for (int q = 0; q < quantizers; q++)
                    {
                        int code = codes[(b * quantizers + q) * frames + f];
                        NaiveOps.AssertNearest(residual, 0, codebooks[q], size, dim, code);
                        for (int e = 0; e < dim; e++) residual[e] -= codebooks[q][code * dim + e];
                    }
                }
        }, cases: 40);
    }

    [Fact]
    public void Quantizers_follow_the_bandwidth_and_are_capped_by_the_model()
    {
        var config = GoldenConfig();
        Assert.Equal(4, config.QuantizersForBandwidth(2.2));
        Assert.Equal(1, config.QuantizersForBandwidth(0.1));
        Assert.Equal(4, (config with { CodebookSize = 256 }).QuantizersForBandwidth(2.2));
    }
}
