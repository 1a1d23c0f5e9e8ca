using System.Text;
using MusicGen.Engine.Backends;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// The backend's one OpenCL program: the embedded .cl files in a fixed order, and the build options that define
/// every size the kernels and the host code share (the host code reads the same constants from
/// <see cref="KernelSizes"/>), so the two cannot disagree.
/// </summary>
internal static class KernelSource
{
    /// <summary>Files in the order they are concatenated: later files use helpers of earlier ones.</summary>
    private static readonly string[] Files =
        ["tiles.cl", "packed.cl", "linear.cl", "convolution.cl", "normalization.cl", "elementwise.cl", "layout.cl", "attention.cl", "codec.cl", "sampling.cl"];

    public static string Text { get; } = Load();

    public static string Options { get; } = string.Join(" ",
        $"-D TILE={KernelSizes.Tile}",
        $"-D TILE_K={KernelSizes.TileDepth}",
        $"-D TILE_THREADS={KernelSizes.TileThreads}",
        $"-D ROWS_LANES={KernelSizes.RowsLanes}",
        $"-D ROWS_PER_GROUP={KernelSizes.RowsPerGroup}",
        $"-D ROWS_MAX_M={KernelSizes.RowsMaxM}",
        $"-D REDUCE_THREADS={KernelSizes.ReduceThreads}",
        $"-D ELEMENT_THREADS={KernelSizes.ElementThreads}",
        $"-D TRANSPOSE_TILE={KernelSizes.TransposeTile}",
        $"-D ATTENTION_THREADS={KernelSizes.AttentionThreads}",
        $"-D ATTENTION_CHUNK={KernelSizes.AttentionChunk}",
        $"-D ATTENTION_SLOTS={KernelSizes.AttentionSlots}",
        $"-D CODES_THREADS={KernelSizes.CodesThreads}",
        $"-D ACTIVATION_RELU={(int)ActivationKind.Relu}",
        $"-D ACTIVATION_ELU={(int)ActivationKind.Elu}",
        $"-D ACTIVATION_GELU={(int)ActivationKind.Gelu}",
        $"-D ACTIVATION_GELU_TANH={(int)ActivationKind.GeluTanh}");

    private static string Load()
    {
        var assembly = typeof(KernelSource).Assembly;
        const string prefix = "MusicGen.Kernels.";
        var embedded = assembly.GetManifestResourceNames().Where(n => n.EndsWith(".cl", StringComparison.Ordinal)).Select(n => n[prefix.Length..]).ToHashSet();
        var unlisted = embedded.Except(Files).ToArray();
        if (unlisted.Length > 0 || !embedded.IsSupersetOf(Files))
            throw new InvalidOperationException($"kernel files embedded [{string.Join(", ", embedded)}] differ from the build order [{string.Join(", ", Files)}]");
        var text = new StringBuilder();
        foreach (string file in Files)
        {
            using var stream = assembly.GetManifestResourceStream(prefix + file)!;
            using var reader = new StreamReader(stream);
            text.Append("// ---- ").Append(file).Append('\n').Append(reader.ReadToEnd()).Append('\n');
        }
        return text.ToString();
    }
}
