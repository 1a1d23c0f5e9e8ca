using MusicGen.Engine.Codec;
using MusicGen.Kernels.Ilgpu;
using MusicGen.Tests.Backends;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class DeviceOptionTests
{
    [SkippableFact]
    public void Greedy_generation_on_opencl_writes_the_codes_of_the_cpu()
    {
        OpenClAvailability.SkipUnlessAvailable();
        AssertGreedyCodesMatchTheCpu("opencl");
    }

    [Fact]
    public void Greedy_generation_on_ilgpu_writes_the_codes_of_the_cpu() => AssertGreedyCodesMatchTheCpu("ilgpu-cpu");

    private static void AssertGreedyCodesMatchTheCpu(string tested)
    {
        using var folder = new TempFolder();
        string model = Path.Combine(TestPaths.Golden("musicgen-stereo"), "model");
        foreach (string device in new[] { "cpu", tested })
        {
            // In a process of its own: ILGPU's CPU accelerator shares state within a process, and the ILGPU test
            // collection runs its own accelerator at the same time. Float32 weights: at q8 a CPU with integer dot
            // products rounds the activations to 8 bits, which the GPU backends' float products do not.
            var run = CliProcess.Run(["generate", "calm ambient pads", "a second, longer prompt", "--model", model, "--greedy", "--tokens", "24",
                "--weights", "f32", "--device", device, "--out", folder.File($"{device}.wav"), "--save-codes", folder.File($"{device}.safetensors")]);
            Assert.True(run.ExitCode == 0, run.Error);
        }
        for (int item = 1; item <= 2; item++)
        {
            var cpu = CodesFile.Load(folder.File($"cpu-{item}.safetensors"));
            var other = CodesFile.Load(folder.File($"{tested}-{item}.safetensors"));
            Assert.Equal(2, cpu.Channels);
            Assert.Equal(cpu.Values, other.Values);
        }
    }

    [SkippableFact]
    public void Verify_runs_on_opencl_and_devices_lists_it()
    {
        OpenClAvailability.SkipUnlessAvailable();
        var verify = CliRunner.Run("verify", TestPaths.Golden("musicgen-unconditional"), "--device", "opencl:0");
        Assert.True(verify.ExitCode == 0, verify.Output + verify.Error);
        Assert.Contains("device opencl", verify.Output);
        Assert.Contains("0 failed", verify.Output);
        var devices = CliRunner.Run("devices");
        Assert.Equal(0, devices.ExitCode);
        Assert.Contains("opencl:0", devices.Output);
    }

    [Fact]
    public void Devices_lists_every_backend()
    {
        var devices = CliRunner.Run("devices");
        Assert.Equal(0, devices.ExitCode);
        foreach (string expected in new[] { "cpu ", "cuda", "opencl", "ilgpu-cl", "ilgpu-cpu", "ILGPU backend", "auto" })
            Assert.Contains(expected, devices.Output);
    }

    [SkippableFact]
    public void Cuda_without_an_nvidia_gpu_is_a_one_line_error()
    {
        Skip.If(IlgpuDevices.List(IlgpuDeviceKind.Cuda).Count > 0, "this machine has a CUDA device");
        var run = CliRunner.Run("verify", TestPaths.Golden("encodec-32khz"), "--device", "cuda");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: no CUDA device found", run.Error);
        Assert.Single(run.Error.Trim().Split('\n'));
    }

    [Fact]
    public void Unknown_devices_are_clear_errors()
    {
        var run = CliRunner.Run("verify", TestPaths.Golden("encodec-32khz"), "--device", "tpu");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("unknown device 'tpu'", run.Error);
        var missing = CliRunner.Run("verify", TestPaths.Golden("encodec-32khz"), "--device", "opencl:99");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error: ", missing.Error);
        // One line, whatever the devices: no newline inside it (printed as a literal \x0a).
        Assert.DoesNotContain("\\x0a", missing.Error);
        Assert.Single(missing.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
