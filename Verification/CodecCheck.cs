using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Verification;

/// <summary>
/// EnCodec on a golden case: the encoder layer by layer on encode.input, the codes at the case's bandwidth (its
/// largest by default), and the decoder fed with the reference codes, so that a code mismatch does not hide the
/// decoder's own accuracy.
/// </summary>
public sealed class CodecCheck : IComponentCheck
{
    public string Component => "EnCodec";

    public bool Owns(GoldenCase golden, string tensorName) => golden.Kind == "encodec" || tensorName.StartsWith("audio_encoder.", StringComparison.Ordinal);

    /// <summary>
    /// Beside low-precision weights the codec differs only in its LSTMs' bfloat16 recurrent matrices
    /// (<see cref="EncodecModel.RecurrentTypeFor"/>), whatever the model's type; it has no key/value cache.
    /// </summary>
    public LowPrecisionTolerance? ToleranceWith(WeightType weights, WeightType cache, IBackend backend) => weights == WeightType.F32 ? null : LowPrecisionTolerance.Codec;

    public void Run(CaseContext context, ProducedTensors produced)
    {
        var (golden, backend) = (context.Golden, context.Backend);
        string prefix = golden.CodecPrefix;
        if (!golden.Has(prefix + "encode.input")) return;
        var model = context.Codec;
        model.Inspector = (name, tensor) => produced.Add(prefix + name, tensor);
        try
        {
            Check(golden, backend, model, prefix, produced);
        }
        finally
        {
            model.Inspector = null;
        }
    }

    private static void Check(GoldenCase golden, IBackend backend, EncodecModel model, string prefix, ProducedTensors produced)
    {
        var config = model.Config;

        int[] inputShape = golden.Shape(prefix + "encode.input");
        using (var audio = backend.Upload(golden.Float(prefix + "encode.input"), inputShape))
        {
            double bandwidth = golden.Number("bandwidth", config.TargetBandwidths.Max());
            int quantizers = model.QuantizersFor(bandwidth);
            int[] codes = model.Encode(audio, quantizers);
            produced.Add(prefix + "encode.codes", [inputShape[0], quantizers, codes.Length / (inputShape[0] * quantizers)], codes);
        }

        string codesName = prefix + "encode.codes";
        if (!golden.Has(codesName)) return;
        int[] codeShape = golden.Shape(codesName);
        int[] referenceCodes = golden.Int32(codesName, 0, model.Config.CodebookSize - 1);
        using var decoded = model.Decode(referenceCodes, codeShape[0], codeShape[1], codeShape[2]);
        produced.Add(prefix + "decode.audio", decoded);
    }
}
