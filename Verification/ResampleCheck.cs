using MusicGen.Engine.Audio;

namespace MusicGen.Verification;

/// <summary>
/// The resampler on a resample case: every <c>&lt;name&gt;.input</c> of case.json's <c>signals</c>, resampled from
/// its <c>orig_freq</c> to its <c>new_freq</c> with the case's filter width and rolloff, gives <c>&lt;name&gt;.output</c>.
/// </summary>
public sealed class ResampleCheck : ISignalCheck
{
    public string Component => "Resampler";

    public bool Owns(GoldenCase golden, string tensorName) => golden.Kind == "resample";

    public void Run(GoldenCase golden, ProducedTensors produced)
    {
        if (golden.Kind != "resample") return;
        int width = (int)golden.Number("lowpass_filter_width", 6);
        double rolloff = golden.Number("rolloff", 0.99);
        foreach (var signal in golden.Settings.GetProperty("signals").EnumerateArray())
        {
            string name = signal.GetProperty("name").GetString() ?? "";
            float[] output = Resampler.Resample(golden.Float(name + ".input"),
                signal.GetProperty("orig_freq").GetInt32(), signal.GetProperty("new_freq").GetInt32(), width, rolloff);
            produced.Add(name + ".output", [output.Length], output);
        }
    }
}
