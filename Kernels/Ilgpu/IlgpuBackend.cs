using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// The ILGPU backend: the kernels are C# (<see cref="IlgpuKernels"/>) that ILGPU compiles for the chosen
/// accelerator, PTX for NVIDIA GPUs through the CUDA driver alone, OpenCL for generic-address-space devices, or
/// emulated on the CPU. Tensors stay in device memory between operations; every operation is one kernel launch
/// on the accelerator's in-order stream (the LSTM step two), and only host arguments (ids, scales, pad edges),
/// codes and the downloads the caller asks for cross the bus. One backend serves one thread at a time. The
/// operations live in partial files by kind.
/// </summary>
/// <remarks>
/// Ordering: launches, zeroing and host copies all go on the accelerator's default stream, which runs them in issue
/// order (CUDA's NULL stream, an in-order OpenCL queue; the CPU accelerator finishes each before its call returns),
/// so none waits explicitly for those before it. Host copies use ILGPU's span overloads: they pin the host memory,
/// queue the copy and wait for the stream, so the copy has run after every kernel queued before it and the host
/// memory may change once the call returns. The <c>ref T</c> overloads take the host address as a raw pointer
/// without pinning: a garbage collection before the copy runs (any thread's allocation may start one, ILGPU's own on
/// that path included) moves a young array, and the copy reads or writes its old place, which once decoded wrong
/// audio on the CPU accelerator under load. Host arguments are the exception: they are copied into page-locked staging
/// and queued from there without waiting (<see cref="DeviceScratch{T}.Write"/>). Only freeing device memory waits for the stream
/// (<see cref="IlgpuBuffer{T}.Dispose"/>, <see cref="DeviceScratch{T}"/> growing): a free is not ordered on the
/// stream, and a queued kernel may still use the memory.
/// </remarks>
public sealed partial class IlgpuBackend : CheckedBackend
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly IlgpuKernelSet _kernels;
    private readonly LaunchSizes _sizes;
    /// <summary>Host arguments copied to the device: ids and pad edges, and row scales.</summary>
    private readonly DeviceScratch<int> _indices;
    private readonly DeviceScratch<float> _scales;
    /// <summary>Intermediates of one operation: codebook norms, an LSTM step's recurrent product, staged copies.</summary>
    private readonly DeviceScratch<float> _work;
    /// <summary>Small results read back to the host: nearest codes.</summary>
    private readonly DeviceScratch<int> _results;
    /// <summary>Sampling's order keys of every row's scores.</summary>
    private readonly DeviceScratch<long> _orderKeys;

    public IlgpuDevice Device { get; }

    public override string Name => $"{Device.DeviceName} ({Device.Name}, ILGPU)";

    private readonly MemoryLedger _ledger = new();
    private readonly DeviceCounters _counters = new();

    public override DeviceMemory Memory => _ledger.Current;

    public override BackendCounters Counters => _counters.Current;

    /// <summary>Kernels index rows with 32-bit integers; the attention kernel holds a head in shared memory.</summary>
    public override BackendCapabilities Capabilities { get; } =
        new(OnHost: false, IntegerProducts: false, MaxHeadDimension: LaunchSizes.MaxHeadDim, MaxElements: int.MaxValue);

    /// <summary>A backend on device <paramref name="index"/> of that kind (see <see cref="IlgpuDevices.List"/>).</summary>
    public static IlgpuBackend Create(IlgpuDeviceKind kind, int index = 0)
    {
        var (context, accelerator, device) = IlgpuDevices.Open(kind, index);
        try
        {
            return new IlgpuBackend(context, accelerator, device);
        }
        catch
        {
            accelerator.Dispose();
            context.Dispose();
            throw;
        }
    }

    private IlgpuBackend(Context context, Accelerator accelerator, IlgpuDevice device)
    {
        _context = context;
        _accelerator = accelerator;
        Device = device;
        _sizes = LaunchSizes.For(accelerator);
        _kernels = new IlgpuKernelSet(accelerator, _counters);
        _indices = new DeviceScratch<int>(accelerator, _ledger, _counters);
        _scales = new DeviceScratch<float>(accelerator, _ledger, _counters);
        _work = new DeviceScratch<float>(accelerator, _ledger, _counters);
        _results = new DeviceScratch<int>(accelerator, _ledger, _counters);
        _orderKeys = new DeviceScratch<long>(accelerator, _ledger, _counters);
    }

    protected override Tensor AllocateCore(int[] shape) => Zeroed<float>(shape, WeightType.F32);

    protected override Tensor AllocateUninitializedCore(int[] shape) => new(this, NewBuffer<float>(shape), 0, shape, ownsBuffer: true);

    /// <summary>
    /// A zero-filled tensor of elements of type T (float32, or float16 and bytes for <see cref="IBackend.AllocateCache"/>): the
    /// zeroing is queued on the default stream, ahead of every later kernel and copy.
    /// </summary>
    private Tensor Zeroed<T>(int[] shape, WeightType type) where T : unmanaged
    {
        var buffer = NewBuffer<T>(shape);
        buffer.Memory.MemSetToZero();
        return new Tensor(this, buffer, 0, shape, ownsBuffer: true, type);
    }

    protected override Tensor UploadCore(ReadOnlySpan<float> data, int[] shape) => Uploaded(data, shape, MemoryUse.Tensors);

    protected override Tensor AdoptCore(float[] data, int[] shape) => Uploaded(data, shape, MemoryUse.Weights);

    private Tensor Uploaded(ReadOnlySpan<float> data, int[] shape, MemoryUse use)
    {
        var tensor = new Tensor(this, NewBuffer<float>(shape, use), 0, shape, ownsBuffer: true);
        UploadCore(data, tensor);
        return tensor;
    }

    protected override void UploadCore(ReadOnlySpan<float> data, Tensor destination)
    {
        View(destination).CopyFromCPU(data);
        _counters.CountSynchronization();
    }

    protected override void DownloadCore(Tensor source, Span<float> destination)
    {
        View(source).CopyToCPU(destination[..checked((int)source.Length)]);
        _counters.CountSynchronization();
    }

    private IlgpuBuffer<T> NewBuffer<T>(int[] shape, MemoryUse use = MemoryUse.Tensors) where T : unmanaged
    {
        long length = ShapeText.ElementCount(shape);
        return new IlgpuBuffer<T>(_accelerator, _accelerator.Allocate1D<T>(Math.Max(1, length)), _ledger, use);
    }

    /// <summary>The tensor's elements on this accelerator, as a view starting at its first element.</summary>
    private ArrayView<float> View(Tensor tensor)
    {
        if (tensor.Buffer is not IlgpuBuffer<float> buffer || buffer.Accelerator != _accelerator)
            throw new ArgumentException($"{tensor} does not live on this ILGPU backend");
        return buffer.Memory.View.SubView(tensor.Offset, tensor.Length);
    }

    /// <summary>An optional tensor's view, or an empty view (kernels test its length) when absent.</summary>
    private ArrayView<float> Optional(Tensor? tensor) => tensor is null ? ArrayView<float>.Empty : View(tensor);

    /// <summary>A launch of <paramref name="groups"/> one-dimensional groups of <paramref name="threads"/> threads.</summary>
    private static KernelConfig Groups(long groups, int threads) => new(new Index1D(checked((int)groups)), new Index1D(threads));

    private static int DivideUp(long count, int size) => checked((int)((count + size - 1) / size));

    public override void Dispose()
    {
        _indices.Dispose();
        _scales.Dispose();
        _work.Dispose();
        _results.Dispose();
        _orderKeys.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
