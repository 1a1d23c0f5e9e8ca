namespace MusicGen.Tests.Support;

/// <summary>Relative symbolic links as huggingface_hub makes them; the test is skipped where the system refuses them.</summary>
public static class SymbolicLinks
{
    public static void Create(string link, string relativeTarget)
    {
        try
        {
            File.CreateSymbolicLink(link, relativeTarget);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Windows without Developer Mode: huggingface_hub itself falls back to plain files there.
            throw new SkipException($"symbolic links are not available here: {e.Message}");
        }
    }
}
