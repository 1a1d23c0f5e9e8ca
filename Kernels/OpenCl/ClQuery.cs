using System.Text;

namespace MusicGen.Kernels.OpenCl;

/// <summary>Reads platform and device properties: strings and fixed-size values.</summary>
internal static unsafe class ClQuery
{
    public static string PlatformString(nint platform, uint name)
    {
        nuint size;
        ClErrors.Check(Cl.clGetPlatformInfo(platform, name, 0, null, &size), "clGetPlatformInfo");
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) ClErrors.Check(Cl.clGetPlatformInfo(platform, name, size, p, null), "clGetPlatformInfo");
        return Text(bytes);
    }

    public static string DeviceString(nint device, uint name)
    {
        nuint size;
        ClErrors.Check(Cl.clGetDeviceInfo(device, name, 0, null, &size), "clGetDeviceInfo");
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) ClErrors.Check(Cl.clGetDeviceInfo(device, name, size, p, null), "clGetDeviceInfo");
        return Text(bytes);
    }

    public static T DeviceValue<T>(nint device, uint name) where T : unmanaged
    {
        T value;
        ClErrors.Check(Cl.clGetDeviceInfo(device, name, (nuint)sizeof(T), &value, null), "clGetDeviceInfo");
        return value;
    }

    /// <summary>A NUL-terminated string as OpenCL returns it, without the terminator and surrounding blanks.</summary>
    public static string Text(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]).Trim();
    }
}
