namespace MusicGen.Kernels.OpenCl;

/// <summary>How a program came to be: compiled now, or loaded from the binary cache.</summary>
internal enum ProgramOrigin { Source, Cache }

/// <summary>Gets a built program for the device: from the binary cache when it holds a usable binary, else from source (then cached).</summary>
internal static class ProgramLoader
{
    public static (ClProgramHandle Program, ProgramOrigin Origin) Load(ClContext cl, string source, string options, ProgramBinaryCache? cache)
    {
        string? path = cache?.PathFor(cl.Device, ProgramHash(source, options));
        if (path is not null && ProgramBinaryCache.TryRead(path) is { } binary)
        {
            try
            {
                return (ClProgramBuilder.FromBinary(cl, binary, options), ProgramOrigin.Cache);
            }
            catch (OpenClException)
            {
                // A binary the driver no longer accepts (e.g. after an update that kept the version string): rebuild.
            }
        }
        var program = ClProgramBuilder.FromSource(cl, source, options);
        if (path is not null)
        {
            var built = ClProgramBuilder.Binary(program);
            if (built.Length > 0) ProgramBinaryCache.TryWrite(path, built);
        }
        return (program, ProgramOrigin.Source);
    }

    /// <summary>Identifies the program (source and options together) within the cache.</summary>
    private static string ProgramHash(string source, string options) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(source + "\n" + options)));
}
