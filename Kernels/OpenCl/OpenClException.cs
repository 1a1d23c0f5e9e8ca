using MusicGen.Loaders;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// An OpenCL call that returned an error code, e.g. "clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (-5)".
/// A failed program build carries the compiler's log in <see cref="Detail"/> and in the message.
/// </summary>
public sealed class OpenClException : MusicGenException
{
    public string Call { get; }
    public int ErrorCode { get; }
    public string? Detail { get; }

    public OpenClException(string call, int errorCode, string? detail = null)
        : base($"{call} failed: {ClErrors.Name(errorCode)} ({errorCode})" + (string.IsNullOrWhiteSpace(detail) ? "" : Environment.NewLine + detail.TrimEnd()))
    {
        Call = call;
        ErrorCode = errorCode;
        Detail = detail;
    }
}
