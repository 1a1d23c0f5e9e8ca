using MusicGen.Kernels.OpenCl;
using MusicGen.Kernels;
using MusicGen.Loaders;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The one rule for OpenCL tests on machines without OpenCL: they skip with the reason, unless
/// MUSICGEN_REQUIRE_OPENCL=1 (set by the CI script, which installs PoCL), in which case they fail.
/// </summary>
public static class OpenClAvailability
{
    public const string RequireVariable = "MUSICGEN_REQUIRE_OPENCL";

    private static readonly Lazy<string?> Unavailable = new(FindReason);

    /// <summary>Why no OpenCL device can be used here, or null when one can.</summary>
    public static string? Reason => Unavailable.Value;

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Call first in every OpenCL test: skips (or fails, when required) without a device.</summary>
    public static void SkipUnlessAvailable() => Apply(Reason, Required);

    /// <summary>The rule itself: nothing when OpenCL is available, else a failure when required, else a skip.</summary>
    public static void Apply(string? reason, bool required)
    {
        if (reason is null) return;
        if (required) Assert.Fail($"{RequireVariable}=1 but OpenCL is unavailable: {reason}");
        Skip.If(true, $"OpenCL is unavailable: {reason}");
    }

    private static string? FindReason()
    {
        try
        {
            return OpenClDevices.List().Count == 0 ? "no OpenCL device found" : null;
        }
        catch (MusicGenException e)
        {
            return e.Message;
        }
    }
}

/// <summary>
/// One OpenCL backend (device 0) shared by every OpenCL test class: building the program once, and running the
/// tests one at a time, since a backend serves one thread at a time.
/// </summary>
public sealed class OpenClFixture : IDisposable
{
    private readonly Lazy<OpenClBackend> _backend = new(() => OpenClBackend.Create());

    /// <summary>The backend, after the availability rule (skips or fails without a device).</summary>
    public OpenClBackend Backend
    {
        get
        {
            OpenClAvailability.SkipUnlessAvailable();
            return _backend.Value;
        }
    }

    public void Dispose()
    {
        if (_backend.IsValueCreated) _backend.Value.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class OpenClCollection : ICollectionFixture<OpenClFixture>
{
    public const string Name = "OpenCL";
}
