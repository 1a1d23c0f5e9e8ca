using MusicGen.Engine.Backends.Cpu;
using MusicGen.Kernels;
using MusicGen.Kernels.OpenCl;
using MusicGen.Loaders;

namespace MusicGen.Tests.Backends;

/// <summary>The OpenCL plumbing: device listing and selection, errors with their names, build logs, the binary cache, ownership of buffers.</summary>
[Collection(OpenClCollection.Name)]
public sealed class OpenClRuntimeTests(OpenClFixture fixture)
{
    [Fact]
    public void A_missing_library_says_that_opencl_is_not_installed_and_how_to_get_it()
    {
        var error = Assert.Throws<MusicGenException>(() => OpenClLibrary.Load(["libmusicgen-no-such-opencl.so.9"]));
        Assert.StartsWith("OpenCL is not installed: could not load libmusicgen-no-such-opencl.so.9.", error.Message);
        Assert.Contains("install", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Without_opencl_tests_skip_with_the_reason_unless_opencl_is_required()
    {
        OpenClAvailability.Apply(reason: null, required: true);
        var skipped = Assert.Throws<SkipException>(() => OpenClAvailability.Apply("no OpenCL device found", required: false));
        Assert.Contains("no OpenCL device found", skipped.Message);
        var failed = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => OpenClAvailability.Apply("no OpenCL device found", required: true));
        Assert.Contains("MUSICGEN_REQUIRE_OPENCL=1", failed.Message);
    }

    [Fact]
    public void An_error_code_names_the_call_and_the_code()
    {
        Assert.Equal("clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (-5)", new OpenClException("clEnqueueNDRangeKernel", -5).Message);
        Assert.Equal("clGetPlatformIDs failed: CL_PLATFORM_NOT_FOUND_KHR (-1001)", new OpenClException("clGetPlatformIDs", -1001).Message);
        Assert.Equal("clFinish failed: unknown OpenCL error (-9999)", new OpenClException("clFinish", -9999).Message);
    }

    [SkippableFact]
    public void Devices_are_numbered_gpus_first_with_their_properties()
    {
        OpenClAvailability.SkipUnlessAvailable();
        var devices = OpenClDevices.List();
        Assert.NotEmpty(devices);
        Assert.Equal(Enumerable.Range(0, devices.Count), devices.Select(d => d.Index));
        Assert.Equal(devices.OrderBy(d => d.IsGpu ? 0 : 1).Select(d => d.Index), devices.Select(d => d.Index));
        foreach (var device in devices)
        {
            Assert.False(string.IsNullOrWhiteSpace(device.Name));
            Assert.StartsWith("OpenCL ", device.Version);
            Assert.StartsWith("OpenCL C ", device.OpenClCVersion);
            Assert.False(string.IsNullOrWhiteSpace(device.DriverVersion));
            Assert.True(device.GlobalMemoryBytes > 0 && device.ComputeUnits > 0 && device.MaxWorkGroupSize > 0);
            Assert.Contains(device.Name, device.ToString());
        }
    }

    [SkippableFact]
    public void An_invalid_device_index_is_a_clear_error_listing_the_devices()
    {
        OpenClAvailability.SkipUnlessAvailable();
        var devices = OpenClDevices.List();
        foreach (int index in new[] { devices.Count, -1 })
        {
            var error = Assert.Throws<MusicGenException>(() => OpenClBackend.Create(index));
            Assert.StartsWith($"OpenCL device {index} does not exist; there", error.Message);
            Assert.Contains(devices[0].Name, error.Message);
        }
    }

    [SkippableFact]
    public void A_kernel_that_does_not_compile_surfaces_the_build_log()
    {
        OpenClAvailability.SkipUnlessAvailable();
        using var cl = new ClContext(OpenClDevices.Get(0));
        const string source = "__kernel void broken(__global float* x) { x[0] = undeclared_musicgen_name; }";
        var error = Assert.Throws<OpenClException>(() => ClProgramBuilder.FromSource(cl, source, ""));
        Assert.Equal("clBuildProgram", error.Call);
        Assert.Equal(-11, error.ErrorCode);
        Assert.StartsWith("clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)", error.Message);
        Assert.True(error.Message.Contains("undeclared_musicgen_name", StringComparison.Ordinal), $"the build log does not name the error: {error.Message}");
    }

    [SkippableFact]
    public void A_failing_driver_call_names_the_call_and_the_code()
    {
        OpenClAvailability.SkipUnlessAvailable();
        using var cl = new ClContext(OpenClDevices.Get(0));
        using var buffer = cl.CreateBuffer(16);
        var error = Assert.Throws<OpenClException>(() => cl.Write(buffer, 64, new float[4]));
        Assert.Equal("clEnqueueWriteBuffer failed: CL_INVALID_VALUE (-30)", error.Message);
    }

    [SkippableFact]
    public void Compiled_programs_are_cached_and_a_damaged_or_unusable_cache_means_building_from_source()
    {
        OpenClAvailability.SkipUnlessAvailable();
        var device = OpenClDevices.Get(0);
        using var folder = new TempFolder();
        var cache = new ProgramBinaryCache(Path.Combine(folder.Path, "cache"));

        using (var first = new OpenClBackend(device, cache)) Assert.Equal(ProgramOrigin.Source, first.ProgramOrigin);
        string file = Assert.Single(Directory.GetFiles(cache.Folder));
        using (var second = new OpenClBackend(device, cache)) Assert.Equal(ProgramOrigin.Cache, second.ProgramOrigin);

        var bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        using (var damaged = new OpenClBackend(device, cache))
        {
            Assert.Equal(ProgramOrigin.Source, damaged.ProgramOrigin);
            AssertWorks(damaged);
        }
        using (var repaired = new OpenClBackend(device, cache)) Assert.Equal(ProgramOrigin.Cache, repaired.ProgramOrigin);

        File.WriteAllText(folder.File("not-a-folder"), "");
        using var unusable = new OpenClBackend(device, new ProgramBinaryCache(folder.File("not-a-folder")));
        Assert.Equal(ProgramOrigin.Source, unusable.ProgramOrigin);
        AssertWorks(unusable);
    }

    [SkippableFact]
    public void Views_share_the_owners_buffer_and_only_the_owner_releases_it()
    {
        var backend = fixture.Backend;
        var owner = backend.Upload([1, 2, 3, 4, 5, 6], 2, 3);
        var view = owner.Slice(1, 1).Reshape(3);
        view.Dispose();
        Assert.Equal([4f, 5f, 6f], view.ToArray());
        backend.Upload([7, 8, 9], view);
        Assert.Equal([1f, 2f, 3f, 7f, 8f, 9f], owner.ToArray());
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => view.ToArray());
    }

    [SkippableFact]
    public void Tensors_outlive_a_disposed_backend_and_tensors_of_other_backends_are_refused()
    {
        OpenClAvailability.SkipUnlessAvailable();
        var device = OpenClDevices.Get(0);
        var other = new OpenClBackend(device, ProgramBinaryCache.Default());
        var tensor = other.Upload([1, 2], 2);
        Assert.Throws<ArgumentException>(() => fixture.Backend.Add(tensor, tensor, tensor));
        using var cpu = new CpuBackend();
        using var cpuTensor = cpu.Allocate(2);
        Assert.Throws<ArgumentException>(() => fixture.Backend.Download(cpuTensor, new float[2]));
        other.Dispose();
        tensor.Dispose(); // releases its buffer after the context: OpenCL keeps the context alive until then
    }

    private static void AssertWorks(OpenClBackend backend)
    {
        using var a = backend.Upload([1, 2, 3], 3);
        using var y = backend.Allocate(3);
        backend.Add(a, a, y);
        Assert.Equal([2f, 4f, 6f], y.ToArray());
    }
}
