using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// EnCodec's LSTM (modeling_encodec.EncodecLSTM): a stack of LSTM layers over time in channel-first layout, with a
/// skip connection around the whole stack. The input projections of all steps are one matrix product; only the
/// recurrent part runs step by step.
/// </summary>
public sealed class EncodecLSTM : IEncodecLayer
{
    private readonly IBackend _backend;
    private readonly int _dimension;
    private readonly (Tensor InputWeight, Tensor Bias, Tensor RecurrentWeight)[] _layers; // [4H, H], [4H], [4H, H]

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
                backend.Upload(weights.Float($"lstm.weight_ih_l{l}", 4 * dimension, dimension)),
                backend.Upload(bias, 4 * dimension),
                backend.Upload(weights.Float($"lstm.weight_hh_l{l}", 4 * dimension, dimension)));
        }
    }

    public Tensor Forward(Tensor hidden) // [B, H, T] -> [B, H, T]
    {
        int batch = hidden.Dim(0), steps = hidden.Dim(2);
        using var sequence = _backend.Allocate(batch, steps, _dimension); // [B, T, H]
        _backend.Transpose(hidden, sequence);
        using var gates = _backend.Allocate(batch, steps, 4 * _dimension);
        using var cell = _backend.Allocate(batch, _dimension);
        var input = sequence;
        var outputs = new[] { _backend.Allocate(batch, steps, _dimension), _backend.Allocate(batch, steps, _dimension) };
        for (int l = 0; l < _layers.Length; l++)
        {
            var (inputWeight, bias, recurrentWeight) = _layers[l];
            var output = outputs[l % 2];
            _backend.Linear(input.Reshape(batch * steps, _dimension), inputWeight, bias, gates.Reshape(batch * steps, 4 * _dimension));
            for (int t = 0; t < steps; t++) _backend.LstmStep(gates, recurrentWeight, cell, output, t);
            input = output;
        }
        _backend.Add(input, sequence, input);
        var result = _backend.Allocate(batch, _dimension, steps);
        _backend.Transpose(input, result);
        foreach (var output in outputs) output.Dispose();
        return result;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var (inputWeight, bias, recurrentWeight) in _layers)
        {
            inputWeight.Dispose();
            bias.Dispose();
            recurrentWeight.Dispose();
        }
    }
}
