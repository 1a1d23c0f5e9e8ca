using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// EnCodec's LSTM (modeling_encodec.EncodecLSTM): a stack of LSTM layers over time in channel-first layout, with a
/// skip connection around the whole stack. The input projections of all steps are one matrix product (a
/// 1-wide convolution over the channel-first input); only the recurrent part runs step by step. Its matrix W_hh is
/// read whole at every step, so it takes the reader's matrix type (float32, or bfloat16 beside low-precision model
/// weights, see <see cref="EncodecModel.RecurrentTypeFor"/>).
/// </summary>
public sealed class EncodecLSTM : IEncodecLayer
{
    private readonly IBackend _backend;
    private readonly int _dimension;
    private readonly (Tensor InputWeight, Tensor Bias, Tensor RecurrentWeight)[] _layers; // [4H, H, 1], [4H], [4H, H] (packed or float32)

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
                backend.Adopt(bias, 4 * dimension),
                weights.MatrixType == WeightType.F32
                    ? backend.Upload(weights.Float($"lstm.weight_hh_l{l}", 4 * dimension, dimension))
                    : backend.UploadPacked(weights.Matrix($"lstm.weight_hh_l{l}", 4 * dimension, dimension)));
        }
    }

    public int Dimension => _dimension;

    /// <summary>A zero state (what every whole-sequence forward starts from) for a batch.</summary>
    public EncodecLstmState StartState(int batch) =>
        new(_layers.Select(_ => _backend.Allocate(batch, _dimension)).ToArray(), _layers.Select(_ => _backend.Allocate(batch, _dimension)).ToArray());

    public Tensor Forward(Tensor hidden) // [B, H, T] -> [B, H, T]
    {
        using var state = StartState(hidden.Dim(0));
        return Forward(hidden, state);
    }

    /// <summary>
    /// The stack over T more steps, continuing from state (each layer's last output and cell), which it advances:
    /// chunks decoded one after another give the whole sequence's output.
    /// </summary>
    public Tensor Forward(Tensor hidden, EncodecLstmState state) // [B, H, T] -> [B, H, T]
    {
        int batch = hidden.Dim(0), steps = hidden.Dim(2), rows = steps + 1, width = _dimension;
        // LstmStep reads the previous step's output from the row before its own, so the step sequences are
        // [B, 1 + T, ·] with row 0 holding the carried output. The input projection runs over the input with
        // one zero step in front, so that it transposes straight into the gates (row 0's are never used).
        using var projected = _backend.AllocateUninitialized(batch, 4 * width, rows); // [B, 4H, 1 + T]
        using var gates = _backend.AllocateUninitialized(batch, rows, 4 * width); // [B, 1 + T, 4H]
        using var output = _backend.AllocateUninitialized(batch, rows, width); // [B, 1 + T, H]
        using var layerOutput = _backend.AllocateUninitialized(batch, steps, width); // [B, T, H]
        var result = _backend.AllocateUninitialized(batch, width, steps); // [B, H, T], each layer's output
        var input = hidden;
        for (int l = 0; l < _layers.Length; l++)
        {
            var (inputWeight, bias, recurrentWeight) = _layers[l];
            _backend.PaddedConv1d(input, inputWeight, bias, projected, stride: 1, dilation: 1, padLeft: 1, padRight: 0, PadMode.Zero);
            _backend.Transpose(projected, gates);
            _backend.CopyBlocks(state.Outputs[l], 0, width, output, 0, (long)rows * width, width, batch);
            for (int t = 1; t < rows; t++) _backend.LstmStep(gates, recurrentWeight, state.Cells[l], output, t);
            _backend.CopyBlocks(output, (long)steps * width, (long)rows * width, state.Outputs[l], 0, width, width, batch);
            _backend.CopyBlocks(output, width, (long)rows * width, layerOutput, 0, (long)steps * width, steps * width, batch);
            _backend.Transpose(layerOutput, result);
            input = result;
        }
        _backend.Add(result, hidden, result);
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

/// <summary>What an LSTM stack carries from one chunk to the next: per layer the last output h and the cell c, [B, H] each.</summary>
public sealed class EncodecLstmState(Tensor[] outputs, Tensor[] cells) : IDisposable
{
    public IReadOnlyList<Tensor> Outputs { get; } = outputs;
    public IReadOnlyList<Tensor> Cells { get; } = cells;

    public void Dispose()
    {
        foreach (var tensor in Outputs.Concat(Cells)) tensor.Dispose();
    }
}
