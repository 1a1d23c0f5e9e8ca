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
    public IReadOnlyList<IEncodecLayer> Layers { get; }

    /// <summary>Sees each layer's output ("layers.i") before it is freed.</summary>
    public TensorInspector? Inspector { get; set; }

    public EncodecDecoder(IBackend backend, EncodecConfig config, WeightReader weights)
    {
        var layers = new List<IEncodecLayer>();
        WeightReader Next() => weights.Scope($"layers.{layers.Count}.");
        int scaling = 1 << config.UpsamplingRatios.Length;
        layers.Add(new EncodecConv1d(backend, config, Next(), config.HiddenSize, scaling * config.NumFilters, config.KernelSize));
        layers.Add(new EncodecLSTM(backend, Next(), scaling * config.NumFilters, config.NumLstmLayers));
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
    }

    /// <summary>[B, hidden_size, F] -> [B, channels, F · hop].</summary>
    public Tensor Forward(Tensor embeddings) => EncodecLayerStack.Run(Layers, embeddings, Inspector);

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
    }
}
