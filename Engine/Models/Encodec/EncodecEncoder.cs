using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// SEANet encoder (modeling_encodec.EncodecEncoder): conv, then per ratio (reversed) residual blocks, ELU and a
/// strided conv doubling the channels, then LSTM, ELU and a conv to hidden_size. Layer i here is layers.{i} there.
/// </summary>
public sealed class EncodecEncoder : IDisposable
{
    public IReadOnlyList<IEncodecLayer> Layers { get; }

    /// <summary>Sees each layer's output ("layers.i") before it is freed.</summary>
    public TensorInspector? Inspector { get; set; }

    public EncodecEncoder(IBackend backend, EncodecConfig config, WeightReader weights)
    {
        var layers = new List<IEncodecLayer>();
        WeightReader Next() => weights.Scope($"layers.{layers.Count}.");
        layers.Add(new EncodecConv1d(backend, config, Next(), config.AudioChannels, config.NumFilters, config.KernelSize));
        int scaling = 1;
        foreach (int ratio in config.UpsamplingRatios.Reverse())
        {
            int channels = scaling * config.NumFilters;
            for (int j = 0; j < config.NumResidualLayers; j++)
                layers.Add(new EncodecResnetBlock(backend, config, Next(), channels, (int)Math.Pow(config.DilationGrowthRate, j)));
            layers.Add(new EncodecElu(backend));
            layers.Add(new EncodecConv1d(backend, config, Next(), channels, channels * 2, ratio * 2, stride: ratio));
            scaling *= 2;
        }
        layers.Add(new EncodecLSTM(backend, Next(), scaling * config.NumFilters, config.NumLstmLayers));
        layers.Add(new EncodecElu(backend));
        layers.Add(new EncodecConv1d(backend, config, Next(), scaling * config.NumFilters, config.HiddenSize, config.LastKernelSize));
        Layers = layers;
    }

    /// <summary>[B, channels, S] -> [B, hidden_size, ⌈S / hop⌉].</summary>
    public Tensor Forward(Tensor audio) => EncodecLayerStack.Run(Layers, audio, Inspector);

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
    }
}

/// <summary>Runs a layer list, freeing each intermediate result once the next layer has consumed it.</summary>
internal static class EncodecLayerStack
{
    public static Tensor Run(IReadOnlyList<IEncodecLayer> layers, Tensor input, TensorInspector? inspector)
    {
        var hidden = input;
        for (int i = 0; i < layers.Count; i++)
        {
            var next = layers[i].Forward(hidden);
            if (!ReferenceEquals(hidden, input)) hidden.Dispose();
            hidden = next;
            inspector?.Invoke($"layers.{i}", hidden);
        }
        return hidden;
    }
}
