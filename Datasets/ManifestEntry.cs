namespace MusicGen.Datasets;

/// <summary>
/// One clip of a manifest: MusicCaps' columns (null where the manifest leaves them out or empty) and the values
/// of any other columns, in <see cref="Manifest.ExtraColumns"/> order.
/// </summary>
public sealed record ManifestEntry(
    string Id,
    double? StartSeconds,
    double? EndSeconds,
    string? Caption,
    string[]? AspectList,
    string? AudiosetPositiveLabels,
    long? AuthorId,
    bool? IsBalancedSubset,
    bool? IsAudiosetEval,
    string?[] Extras);
