using System.CommandLine;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Kernels;
using MusicGen.Loaders;

namespace MusicGen.Cli.Commands;

/// <summary><c>musicgen devices</c>: the devices <c>--device</c> can name.</summary>
public static class DevicesCommand
{
    public static Command Create()
    {
        var command = new Command("devices", "List the devices --device can use: the CPU and every OpenCL device");
        command.SetAction(_ => CommandRunner.Run(List));
        return command;
    }

    private static int List()
    {
        using (var cpu = new CpuBackend()) Console.WriteLine($"cpu        {cpu.Name}");
        IReadOnlyList<OpenClDevice> devices;
        try
        {
            devices = OpenClDevices.List();
        }
        catch (MusicGenException e)
        {
            Console.WriteLine($"opencl     not available: {e.Message}");
            return 0;
        }
        if (devices.Count == 0) Console.WriteLine("opencl     no device (the OpenCL loader is installed, but no driver registered a device)");
        foreach (var d in devices)
        {
            Console.WriteLine($"opencl:{d.Index,-3} {d.Name} ({(d.IsGpu ? "GPU" : "not a GPU")})");
            Console.WriteLine($"           platform {d.Platform}, {d.Version}, driver {d.DriverVersion}, {d.OpenClCVersion}");
            Console.WriteLine($"           {ByteSize.Format(d.GlobalMemoryBytes)} memory ({ByteSize.Format(d.MaxAllocationBytes)} per buffer), {d.ComputeUnits} compute units, work groups up to {d.MaxWorkGroupSize}{(d.SupportsFp16 ? ", fp16" : "")}");
        }
        return 0;
    }
}
