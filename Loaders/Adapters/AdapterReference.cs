using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace MusicGen.Loaders.Adapters;

/// <summary>
/// An adapter to merge into a model when it is loaded: a folder holding PEFT's adapter_config.json and
/// adapter_model.safetensors, or the Hub id of a repository holding them (<c>owner/name[@revision]</c>), and the
/// factor its LoRA deltas are multiplied by (PEFT's <c>set_scale</c>: 1 merges the adapter as trained, 0 not at all).
/// </summary>
public sealed record AdapterReference
{
    /// <summary>The largest scale accepted either way: beyond it a delta swamps the weights it adapts.</summary>
    public const double MaxScale = 100;

    public AdapterReference(string location, double scale = 1)
    {
        if (string.IsNullOrWhiteSpace(location)) throw new AdapterException("an adapter needs a folder or a Hub id");
        if (!double.IsFinite(scale) || Math.Abs(scale) > MaxScale)
            throw new AdapterException($"adapter {location}: scale {scale.ToString(CultureInfo.InvariantCulture)} is not a number from -{MaxScale} to {MaxScale}");
        Location = location;
        Scale = scale;
    }

    /// <summary>The adapter's folder or Hub id.</summary>
    public string Location { get; }

    public double Scale { get; }

    /// <summary>
    /// Parses <c>DIR|OWNER/NAME[@REV][:SCALE]</c>: text after the last ':' that reads as a number is the scale, so
    /// a path with a colon in it (a Windows drive, <c>C:\adapters\punk</c>) stays a path.
    /// </summary>
    public static AdapterReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.LastIndexOf(':');
        if (colon > 0 && double.TryParse(text.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double scale))
            return new AdapterReference(text[..colon], scale);
        return new AdapterReference(text);
    }

    /// <summary>Whether <see cref="Parse"/> accepts the text (the adapter itself is not looked for).</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out AdapterReference? reference)
    {
        try
        {
            reference = Parse(text);
            return true;
        }
        catch (AdapterException)
        {
            reference = null;
            return false;
        }
    }

    /// <summary>The text <see cref="Parse"/> reads back.</summary>
    public override string ToString() => Scale == 1 ? Location : $"{Location}:{Scale.ToString(CultureInfo.InvariantCulture)}";
}
