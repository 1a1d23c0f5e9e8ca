using System.Text;

namespace MusicGen.Kernels.OpenCl;

/// <summary>Builds an OpenCL program for one device from source or from a binary, and reads a built program's binary.</summary>
internal static unsafe class ClProgramBuilder
{
    /// <summary>Compiles the source; a compiler error becomes an <see cref="OpenClException"/> carrying the build log.</summary>
    public static ClProgramHandle FromSource(ClContext cl, string source, string options)
    {
        var text = Encoding.UTF8.GetBytes(source);
        int error;
        ClProgramHandle program;
        fixed (byte* p = text)
        {
            byte* strings = p;
            nuint length = (nuint)text.Length;
            program = Cl.clCreateProgramWithSource(cl.Context, 1, &strings, &length, &error);
        }
        ClErrors.Check(error, "clCreateProgramWithSource");
        Build(cl, program, options);
        return program;
    }

    /// <summary>Loads a binary this driver produced earlier; throws when the driver does not accept it.</summary>
    public static ClProgramHandle FromBinary(ClContext cl, byte[] binary, string options)
    {
        int error, status;
        nint device = cl.Device.DeviceId;
        ClProgramHandle program;
        fixed (byte* p = binary)
        {
            byte* binaries = p;
            nuint length = (nuint)binary.Length;
            program = Cl.clCreateProgramWithBinary(cl.Context, 1, &device, &length, &binaries, &status, &error);
        }
        if (error == Cl.Success && status != Cl.Success) error = status;
        if (error != Cl.Success)
        {
            program.Dispose();
            throw new OpenClException("clCreateProgramWithBinary", error);
        }
        Build(cl, program, options);
        return program;
    }

    /// <summary>The device binary of a built program.</summary>
    public static byte[] Binary(ClProgramHandle program)
    {
        nuint size;
        ClErrors.Check(Cl.clGetProgramInfo(program, Cl.ProgramBinarySizes, (nuint)sizeof(nuint), &size, null), "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
        var binary = new byte[(int)size];
        fixed (byte* p = binary)
        {
            byte* pointer = p;
            ClErrors.Check(Cl.clGetProgramInfo(program, Cl.ProgramBinaries, (nuint)sizeof(byte*), &pointer, null), "clGetProgramInfo(CL_PROGRAM_BINARIES)");
        }
        return binary;
    }

    private static void Build(ClContext cl, ClProgramHandle program, string options)
    {
        nint device = cl.Device.DeviceId;
        var optionBytes = Encoding.ASCII.GetBytes(options + "\0");
        int status;
        fixed (byte* o = optionBytes) status = Cl.clBuildProgram(program, 1, &device, o, 0, 0);
        if (status == Cl.Success) return;
        string log = BuildLog(program, device);
        program.Dispose();
        throw new OpenClException("clBuildProgram", status, $"build log for {cl.Device.Name}:{Environment.NewLine}{log}");
    }

    private static string BuildLog(ClProgramHandle program, nint device)
    {
        nuint size;
        if (Cl.clGetProgramBuildInfo(program, device, Cl.ProgramBuildLog, 0, null, &size) != Cl.Success) return "(no build log)";
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes)
            if (Cl.clGetProgramBuildInfo(program, device, Cl.ProgramBuildLog, size, p, null) != Cl.Success) return "(no build log)";
        return ClQuery.Text(bytes);
    }
}
