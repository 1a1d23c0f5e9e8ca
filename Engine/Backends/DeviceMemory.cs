using System.Globalization;

namespace MusicGen.Engine.Backends;

/// <summary>What a backend's allocation holds: see <see cref="DeviceMemory"/>.</summary>
public enum MemoryUse { Weights, Tensors, Scratch }

/// <summary>
/// The bytes a backend holds now in the memory its tensors live in (the device's; the process's for the CPU
/// backend), counted by its own allocations: <see cref="Weights"/>, the tensors handed over at load
/// (<see cref="IBackend.Adopt"/>, <see cref="IBackend.UploadPacked"/>); <see cref="Tensors"/>, every other live
/// tensor (key/value caches, activations, inputs); <see cref="Scratch"/>, the work buffers the backend keeps for
/// reuse between operations.
/// </summary>
public readonly record struct DeviceMemory(long Weights, long Tensors, long Scratch)
{
    public long Total => Weights + Tensors + Scratch;

    /// <summary>"X GB (weights A GB, tensors B GB, scratch C GB)", in units of 10⁹ bytes.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Total / 1e9:0.000} GB (weights {Weights / 1e9:0.000} GB, tensors {Tensors / 1e9:0.000} GB, scratch {Scratch / 1e9:0.000} GB)");
}

/// <summary>A backend's running count of the bytes its allocations hold, by use; safe to update from any thread.</summary>
public sealed class MemoryLedger
{
    private long _weights, _tensors, _scratch;

    public DeviceMemory Current => new(Interlocked.Read(ref _weights), Interlocked.Read(ref _tensors), Interlocked.Read(ref _scratch));

    /// <summary>Counts bytes allocated for a use (negative: released).</summary>
    public void Add(MemoryUse use, long bytes)
    {
        switch (use)
        {
            case MemoryUse.Weights: Interlocked.Add(ref _weights, bytes); break;
            case MemoryUse.Tensors: Interlocked.Add(ref _tensors, bytes); break;
            case MemoryUse.Scratch: Interlocked.Add(ref _scratch, bytes); break;
            default: throw new ArgumentOutOfRangeException(nameof(use));
        }
    }
}
