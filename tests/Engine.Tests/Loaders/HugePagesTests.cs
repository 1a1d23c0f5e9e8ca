using System.Globalization;
using MusicGen.Loaders;

namespace MusicGen.Tests.Loaders;

/// <summary>
/// Large arrays are advised to 2 MB pages: where Linux gives them only on request (transparent huge pages in
/// "madvise" mode), the mapping that holds the array's middle must then be eligible for them, as /proc/self/smaps says.
/// </summary>
public sealed unsafe class HugePagesTests
{
    private const string Mode = "/sys/kernel/mm/transparent_hugepage/enabled";

    [SkippableFact]
    public void A_large_array_lies_in_memory_eligible_for_2_MB_pages()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(Mode) && File.ReadAllText(Mode).Contains("[madvise]"),
            "transparent huge pages are not given on request here");
        var array = HugePages.NewArray<byte>(16 << 20);
        fixed (byte* start = array)
            Assert.Equal("1", MappingField((long)start + array.Length / 2, "THPeligible"));
    }

    /// <summary>A field of the mapping that holds address, from /proc/self/smaps.</summary>
    private static string MappingField(long address, string field)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out long begin)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out long end))
                inside = begin <= address && address < end;
            else if (inside && line.StartsWith(field + ":", StringComparison.Ordinal))
                return line[(field.Length + 1)..].Trim();
        }
        throw new InvalidOperationException($"no mapping with {field} holds {address:X}");
    }
}
