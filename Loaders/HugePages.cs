using System.Runtime.InteropServices;

namespace MusicGen.Loaders;

/// <summary>
/// Asks Linux to back large allocations with 2 MB pages: transparent huge pages, which its default "madvise" mode
/// gives only where asked. Memory is mapped on its first write, one fault per page; with 4 KB pages the faults of a
/// model's gigabyte of weights took most of its load on the development VM (README, Speed). Only a hint: elsewhere,
/// or where the system has no 2 MB pages to give, nothing changes.
/// </summary>
public static unsafe partial class HugePages
{
    private const long PageBytes = 2 << 20;
    private const int AdviceHugePage = 14; // MADV_HUGEPAGE

    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>An array of <paramref name="length"/> elements, uninitialized, its memory advised before anything writes to it.</summary>
    public static T[] NewArray<T>(int length, bool pinned = false) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(length, pinned);
        // Arrays this large live on the large object heap, which does not move them.
        fixed (T* start = array) Advise(start, (long)length * sizeof(T));
        return array;
    }

    /// <summary>Advises the whole 2 MB pages within [start, start + bytes).</summary>
    public static void Advise(void* start, long bytes)
    {
        long first = ((long)start + PageBytes - 1) & ~(PageBytes - 1), end = ((long)start + bytes) & ~(PageBytes - 1);
        if (_unavailable || end <= first) return;
        try
        {
            _ = Madvise((nint)first, (nuint)(end - first), AdviceHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
