using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// One backend's <see cref="BackendCounters"/> as they grow: <see cref="Counted{T1, T2}"/> and its overloads wrap a
/// loaded kernel so that each call counts a launch, and every copy between host and device counts a synchronization,
/// as ILGPU's span copies wait for the default stream.
/// </summary>
internal sealed class DeviceCounters
{
    private long _launches, _synchronizations;

    public BackendCounters Current => new(_launches, _synchronizations);

    /// <summary>Synchronizations so far: when it has grown, every copy and kernel queued before has run.</summary>
    public long Synchronizations => _synchronizations;

    public void CountSynchronization() => _synchronizations++;

    public Action<T1, T2> Counted<T1, T2>(Action<T1, T2> kernel) =>
        (a1, a2) => { _launches++; kernel(a1, a2); };

    public Action<T1, T2, T3, T4> Counted<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel) =>
        (a1, a2, a3, a4) => { _launches++; kernel(a1, a2, a3, a4); };

    public Action<T1, T2, T3, T4, T5> Counted<T1, T2, T3, T4, T5>(Action<T1, T2, T3, T4, T5> kernel) =>
        (a1, a2, a3, a4, a5) => { _launches++; kernel(a1, a2, a3, a4, a5); };

    public Action<T1, T2, T3, T4, T5, T6> Counted<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> kernel) =>
        (a1, a2, a3, a4, a5, a6) => { _launches++; kernel(a1, a2, a3, a4, a5, a6); };

    public Action<T1, T2, T3, T4, T5, T6, T7> Counted<T1, T2, T3, T4, T5, T6, T7>(Action<T1, T2, T3, T4, T5, T6, T7> kernel) =>
        (a1, a2, a3, a4, a5, a6, a7) => { _launches++; kernel(a1, a2, a3, a4, a5, a6, a7); };

    public Action<T1, T2, T3, T4, T5, T6, T7, T8> Counted<T1, T2, T3, T4, T5, T6, T7, T8>(Action<T1, T2, T3, T4, T5, T6, T7, T8> kernel) =>
        (a1, a2, a3, a4, a5, a6, a7, a8) => { _launches++; kernel(a1, a2, a3, a4, a5, a6, a7, a8); };

    public Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> Counted<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel) =>
        (a1, a2, a3, a4, a5, a6, a7, a8, a9) => { _launches++; kernel(a1, a2, a3, a4, a5, a6, a7, a8, a9); };
}
