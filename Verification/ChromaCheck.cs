using MusicGen.Engine.Audio;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Verification;

/// <summary>
/// The chroma feature extractor, configured from the case's model/preprocessor_config.json: on every item of a
/// chroma case (<c>&lt;name&gt;.waveforms</c> cut to <c>&lt;name&gt;.lengths</c>, at the item's sampling_rate) it gives
/// <c>&lt;name&gt;.input_features</c> and the normalized <c>&lt;name&gt;.chroma</c>; on a melody case, <c>input_features</c>
/// from <c>melody.waveforms</c>.
/// </summary>
public sealed class ChromaCheck : ISignalCheck
{
    public string Component => "Chroma features";

    public bool Owns(GoldenCase golden, string tensorName) =>
        golden.Kind == "chroma" || (golden.Kind == "musicgen_melody" && tensorName == "input_features");

    public void Run(GoldenCase golden, ProducedTensors produced)
    {
        if (golden.Kind == "chroma")
        {
            var extractor = ChromaFeatureExtractor.FromFolder(golden.ModelFolder);
            foreach (var item in golden.Settings.GetProperty("items").EnumerateArray())
            {
                string name = item.GetProperty("name").GetString() ?? "";
                int sampleRate = item.TryGetProperty("sampling_rate", out var rate) ? rate.GetInt32() : extractor.SampleRate;
                Run(golden, extractor, name + ".waveforms", name + ".lengths", sampleRate, produced, name + ".input_features", name + ".chroma");
            }
        }
        else if (golden.Kind == "musicgen_melody" && golden.Has("melody.waveforms"))
        {
            var extractor = ChromaFeatureExtractor.FromFolder(golden.ModelFolder);
            Run(golden, extractor, "melody.waveforms", "melody.lengths", extractor.SampleRate, produced, "input_features", chromaName: null);
        }
    }

    private static void Run(GoldenCase golden, ChromaFeatureExtractor extractor, string waveformsName, string lengthsName, int sampleRate,
        ProducedTensors produced, string featuresName, string? chromaName)
    {
        float[][] waveforms = Melodies(golden, waveformsName, lengthsName, sampleRate).Select(extractor.MonoWaveform).ToArray();
        float[] chroma = extractor.NormalizedChroma(waveforms, out int frames);
        int[] shape = [waveforms.Length, frames, extractor.NumChroma];
        int[] oneHot = extractor.OneHot(chroma);
        if (golden.Has(featuresName) && golden.Expected.Entry(featuresName).DType == SafetensorsDType.F32)
            produced.Add(featuresName, shape, Array.ConvertAll(oneHot, v => (float)v));
        else
            produced.Add(featuresName, shape, oneHot);
        if (chromaName is not null) produced.Add(chromaName, shape, chroma);
    }

    /// <summary>The rows of a [B, S] or [B, C, S] waveform tensor, each cut to its length.</summary>
    private static IEnumerable<AudioClip> Melodies(GoldenCase golden, string waveformsName, string lengthsName, int sampleRate)
    {
        int[] shape = golden.Shape(waveformsName);
        float[] samples = golden.Float(waveformsName);
        int channels = shape.Length == 3 ? shape[1] : 1, stride = shape[^1];
        int[] lengths = golden.Int32(lengthsName, 0, stride);
        for (int b = 0; b < shape[0]; b++)
        {
            int row = b, length = lengths[b];
            yield return new AudioClip(sampleRate,
                [.. Enumerable.Range(0, channels).Select(c => samples.AsSpan((row * channels + c) * stride, length).ToArray())]);
        }
    }
}
