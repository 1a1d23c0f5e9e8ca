using System.Reflection;
using System.Runtime.InteropServices;
using MusicGen.Loaders;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// Finds the OpenCL ICD loader under its name on this operating system, and turns its absence into an error
/// that says how to install it instead of a DllNotFoundException from the first call.
/// </summary>
internal static class OpenClLibrary
{
    private static readonly object Gate = new();
    private static bool _registered;
    private static nint _handle;

    /// <summary>The names tried, in order, on this operating system.</summary>
    public static IReadOnlyList<string> Candidates { get; } =
        OperatingSystem.IsWindows() ? ["OpenCL.dll"]
        : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"]
        : ["libOpenCL.so.1", "libOpenCL.so"];

    /// <summary>Makes the declarations of <see cref="Cl"/> bind to the loaded library; called by its static constructor.</summary>
    public static void RegisterResolver()
    {
        lock (Gate)
        {
            if (_registered) return;
            NativeLibrary.SetDllImportResolver(typeof(OpenClLibrary).Assembly, Resolve);
            _registered = true;
        }
    }

    /// <summary>Loads the library, or throws a <see cref="MusicGenException"/> saying how to install OpenCL.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_handle == 0) _handle = Load(Candidates);
        }
    }

    /// <summary>The first of the candidates that loads.</summary>
    public static nint Load(IReadOnlyList<string> candidates)
    {
        foreach (string name in candidates)
            if (NativeLibrary.TryLoad(name, out nint handle)) return handle;
        throw new MusicGenException($"OpenCL is not installed: could not load {string.Join(" or ", candidates)}. {InstallHint()}");
    }

    private static string InstallHint() =>
        OperatingSystem.IsWindows() ? "Install the OpenCL driver of your GPU (it comes with the NVIDIA, AMD or Intel graphics driver)."
        : OperatingSystem.IsMacOS() ? "OpenCL ships with macOS up to now; this system does not have the framework."
        : "Install the ICD loader and a driver: your GPU vendor's OpenCL runtime (NVIDIA driver, AMD ROCm, Intel compute-runtime), "
          + "or PoCL to run on the CPU; on Debian or Ubuntu: sudo apt install ocl-icd-libopencl1 pocl-opencl-icd.";

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Cl.Library) return 0;
        EnsureLoaded();
        return _handle;
    }
}
