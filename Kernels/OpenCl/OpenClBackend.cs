using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// The GPU backend: OpenCL C kernels built by the driver for the chosen device (NVIDIA, AMD, Intel, or PoCL on the
/// CPU). Tensors stay in device memory between operations; operations are enqueued on one in-order queue without
/// waiting, and only host arguments (ids, scales, codes) and downloads cross the bus. Kernels hold their
/// arguments between setting and launching, so one backend is used by one thread at a time. The operations live in
/// partial files by kind.
/// </summary>
public sealed partial class OpenClBackend : CheckedBackend
{
    private readonly ClContext _cl;
    private readonly ClProgramHandle _program;
    private readonly KernelSet _kernels;
    /// <summary>Host arguments copied to the device: ids, scales, pad edges.</summary>
    private readonly ScratchBuffer _arguments;
    /// <summary>Intermediates of one operation: codebook norms, an LSTM step's recurrent product, staged copies.</summary>
    private readonly ScratchBuffer _work;
    /// <summary>Small results read back to the host: nearest codes.</summary>
    private readonly ScratchBuffer _results;
    /// <summary>Bound in place of an absent optional tensor; kernels never read it.</summary>
    private readonly ClMemHandle _placeholder;

    public OpenClDevice Device { get; }
    /// <summary>Whether the program was compiled by this instance or loaded from the binary cache.</summary>
    internal ProgramOrigin ProgramOrigin { get; }

    public override string Name => $"opencl ({Device.Name}, {Device.Platform})";

    /// <summary>A backend on device <paramref name="deviceIndex"/> of <see cref="OpenClDevices.List"/> (GPUs first).</summary>
    public static OpenClBackend Create(int deviceIndex = 0) => new(OpenClDevices.Get(deviceIndex), ProgramBinaryCache.Default());

    internal OpenClBackend(OpenClDevice device, ProgramBinaryCache? cache)
    {
        Device = device;
        _cl = new ClContext(device);
        try
        {
            (_program, ProgramOrigin) = ProgramLoader.Load(_cl, KernelSource.Text, KernelSource.Options, cache);
            _kernels = new KernelSet(_cl, _program);
            _arguments = new ScratchBuffer(_cl, _ledger);
            _work = new ScratchBuffer(_cl, _ledger);
            _results = new ScratchBuffer(_cl, _ledger);
            _placeholder = _cl.CreateBuffer(sizeof(float));
        }
        catch
        {
            _program?.Dispose();
            _cl.Dispose();
            throw;
        }
    }

    protected override Tensor AllocateCore(int[] shape)
    {
        var tensor = AllocateUninitialized(shape);
        _cl.FillZero(KernelArguments.MemoryOf(_cl, tensor), 0, tensor.Length * sizeof(float));
        return tensor;
    }

    protected override Tensor AllocateUninitializedCore(int[] shape)
    {
        long length = ShapeText.ElementCount(shape);
        return Own(_cl.CreateBuffer(length * sizeof(float)), length, length * sizeof(float), shape);
    }

    protected override Tensor AllocateCacheCore(WeightType type, int[] shape)
    {
        if (type == WeightType.F32) return Allocate(shape);
        // float16 elements, or q8 ones as the bytes of a q8 matrix (values, then scales: see attention.cl), rounded
        // up to whole floats: the zeroing fills 4-byte patterns.
        long length = ShapeText.ElementCount(shape), bytes = Math.Max(sizeof(float), (type.ByteCount(1, length) + 3) / 4 * 4);
        var memory = _cl.CreateBuffer(bytes);
        _cl.FillZero(memory, 0, bytes);
        return Own(memory, length, bytes, shape, type);
    }

    protected override Tensor UploadCore(ReadOnlySpan<float> data, int[] shape) => Uploaded(data, shape, MemoryUse.Tensors);

    protected override Tensor AdoptCore(float[] data, int[] shape) => Uploaded(data, shape, MemoryUse.Weights);

    private unsafe Tensor Uploaded(ReadOnlySpan<float> data, int[] shape, MemoryUse use)
    {
        long length = ShapeText.ElementCount(shape);
        ClMemHandle memory;
        fixed (float* p = data) memory = _cl.CreateBuffer(length * sizeof(float), length == 0 ? null : p);
        return Own(memory, length, length * sizeof(float), shape, use: use);
    }

    private readonly MemoryLedger _ledger = new();

    public override DeviceMemory Memory => _ledger.Current;

    public override BackendCounters Counters => new(_cl.Launches, _cl.Synchronizations);

    /// <summary>Kernels index elements with 32-bit integers; the attention kernel's work-group accumulates a head in its slots.</summary>
    public override BackendCapabilities Capabilities { get; } =
        new(OnHost: false, IntegerProducts: false, MaxHeadDimension: KernelSizes.AttentionThreads * KernelSizes.AttentionSlots, MaxElements: int.MaxValue);

    /// <summary>
    /// A tensor of <paramref name="length"/> elements owning a new buffer of <paramref name="bytes"/>, counted in
    /// <see cref="Memory"/> until it is disposed.
    /// </summary>
    private Tensor Own(ClMemHandle memory, long length, long bytes, int[] shape, WeightType type = WeightType.F32, MemoryUse use = MemoryUse.Tensors)
    {
        _ledger.Add(use, bytes);
        return new Tensor(this, new ClBuffer(_cl, memory, length, () => _ledger.Add(use, -bytes)), 0, shape, ownsBuffer: true, type);
    }

    protected override void UploadCore(ReadOnlySpan<float> data, Tensor destination) =>
        _cl.Write(KernelArguments.MemoryOf(_cl, destination), destination.Offset * sizeof(float), data);

    protected override void DownloadCore(Tensor source, Span<float> destination) =>
        _cl.Read(KernelArguments.MemoryOf(_cl, source), source.Offset * sizeof(float), destination[..checked((int)source.Length)]);

    /// <summary>One work-group per item of a 1-dimensional range: the global size for that many groups.</summary>
    private static long Groups(long count, int groupSize) => count * groupSize;

    private static long Tiles(long count) => (count + KernelSizes.Tile - 1) / KernelSizes.Tile * KernelSizes.TileThreads;

    public override void Dispose()
    {
        _kernels.Dispose();
        _program.Dispose();
        _arguments.Dispose();
        _work.Dispose();
        _results.Dispose();
        _placeholder.Dispose();
        _cl.Dispose();
    }
}
