using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// EnCodec's LSTM (modeling_encodec.EncodecLSTM): a stack of LSTM layers over time in channel-first layout, with a
/// skip connection around the whole stack. The input projections of all steps are one matrix product (a
/// 1-wide convolution over the channel-first input); only the recurrent part runs step by step.
/// </summary>
public sealed class EncodecLSTM : IEncodecLayer
{
    private readonly IBackend _backend;
    private readonly int _dimension;
    private readonly (Tensor InputWeight, Tensor Bias, Tensor RecurrentWeight)[] _layers; // [4H, H, 1], [4H], [4H, H]

    public EncodecLSTM(IBackend backend, WeightReader weights, int dimension, int layers)
    {
        _backend = backend;
        _dimension = dimension;
        _layers = new (Tensor, Tensor, Tensor)[layers];
        for (int l = 0; l < layers; l++)
        {
            var biasIh = weights.Float($"lstm.bias_ih_l{l}", 4 * dimension);
            var biasHh = weights.Float($"lstm.bias_hh_l{l}", 4 * dimension);
            var bias = new float[4 * dimension];
            for (int i = 0; i < bias.Length; i++) bias[i] = biasIh.Data[i] + biasHh.Data[i];
            _layers[l] = (
                backend.Adopt(weights.Float($"lstm.weight_ih_l{l}", 4 * dimension, dimension).Data, 4 * dimension, dimension, 1),
                backend.Upload(bias, 4 * dimension),
                backend.Upload(weights.Float($"lstm.weight_hh_l{l}", 4 * dimension, dimension)));
        }
    }

    public Tensor Forward(Tensor hidden) // [B, H, T] -> [B, H, T]
    {
        int batch = hidden.Dim(0), steps = hidden.Dim(2);
        using var projected = _backend.Allocate(batch, 4 * _dimension, steps); // [B, 4H, T]
        using var gates = _backend.Allocate(batch, steps, 4 * _dimension);     // [B, T, 4H]
        using var cell = _backend.Allocate(batch, _dimension);                 // [B, H]
        using var output = _backend.Allocate(batch, steps, _dimension);        // [B, T, H]
        var result = _backend.Allocate(batch, _dimension, steps);              // [B, H, T], each layer's output
        var input = hidden;
        foreach (var (inputWeight, bias, recurrentWeight) in _layers)
        {
            _backend.Conv1d(input, inputWeight, bias, projected, stride: 1, dilation: 1);
            _backend.Transpose(projected, gates);
            for (int t = 0; t < steps; t++) _backend.LstmStep(gates, recurrentWeight, cell, output, t);
            _backend.Transpose(output, result);
            input = result;
        }
        _backend.Add(result, hidden, result);
        return result;
    }
}
