using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// SEANet decoder (modeling_encodec.EncodecDecoder): conv from hidden_size, LSTM, then per ratio ELU, a transposed
/// conv halving the channels and residual blocks, then ELU and a conv to the audio channels.
/// </summary>
public sealed class EncodecDecoder : IDisposable
{
    /// <summary>Every layer in the reference's order (layers.i).</summary>
    public IReadOnlyList<IEncodecLayer> Layers { get; }

    /// <summary>The first convolution, from hidden_size to the LSTM's width (layers.0).</summary>
    public EncodecConv1d Input { get; }

    /// <summary>The LSTM (layers.1).</summary>
    public EncodecLSTM Lstm { get; }

    /// <summary>What follows the LSTM: the upsampling stages and the last convolution.</summary>
    public IReadOnlyList<IEncodecLayer> Upsampling { get; }

    /// <summary>Sees each layer's output ("layers.i") before it is freed.</summary>
    public TensorInspector? Inspector { get; set; }

    public EncodecDecoder(IBackend backend, EncodecConfig config, WeightReader weights)
    {
        var layers = new List<IEncodecLayer>();
        WeightReader Next() => weights.Scope($"layers.{layers.Count}.");
        int scaling = 1 << config.UpsamplingRatios.Length;
        Input = new EncodecConv1d(backend, config, Next(), config.HiddenSize, scaling * config.NumFilters, config.KernelSize);
        layers.Add(Input);
        Lstm = new EncodecLSTM(backend, Next(), scaling * config.NumFilters, config.NumLstmLayers);
        layers.Add(Lstm);
        foreach (int ratio in config.UpsamplingRatios)
        {
            int channels = scaling * config.NumFilters;
            layers.Add(new EncodecElu(backend));
            layers.Add(new EncodecConvTranspose1d(backend, config, Next(), channels, channels / 2, ratio * 2, ratio));
            for (int j = 0; j < config.NumResidualLayers; j++)
                layers.Add(new EncodecResnetBlock(backend, config, Next(), channels / 2, (int)Math.Pow(config.DilationGrowthRate, j)));
            scaling /= 2;
        }
        layers.Add(new EncodecElu(backend));
        layers.Add(new EncodecConv1d(backend, config, Next(), config.NumFilters, config.AudioChannels, config.LastKernelSize));
        Layers = layers;
        Upsampling = layers.Skip(2).ToArray();
    }

    /// <summary>[B, hidden_size, F] -> [B, channels, F · hop].</summary>
    public Tensor Forward(Tensor embeddings) => EncodecLayerStack.Run(Layers, embeddings, Inspector);

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
    }
}
