using System.Runtime.ExceptionServices;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>The body of a parallel loop over [start, end), with its arguments passed by reference, not captured.</summary>
internal delegate void RangeBody<TState>(in TState state, int start, int end);

/// <summary>
/// Splits a range of independent work items across the cores, or runs it inline when it is small. Bodies are
/// static lambdas over a state struct and each calling thread reuses its job object, so a loop allocates
/// nothing: a decoding step makes a few hundred of these calls.
/// </summary>
internal static class CpuParallel
{
    /// <summary>Below this much work (in multiply-adds or equivalent) handing it to other cores costs more than it saves.</summary>
    private const long InlineCost = 32_768;

    public static int Workers { get; } = Math.Max(1, Environment.ProcessorCount);

    private static readonly WorkerPool Pool = new(Workers - 1);

    /// <summary>
    /// Runs body over [0, count) in up to <paramref name="partsPerWorker"/> parts per core, claimed by whichever
    /// thread is free: more parts even out cores that run at different speeds, fewer keep each core on one long
    /// stretch of memory.
    /// </summary>
    public static void For<TState>(int count, long costPerItem, in TState state, RangeBody<TState> body, int partsPerWorker = 4)
    {
        if (count <= 0) return;
        int parts = (int)Math.Min(Math.Min(count, (long)Workers * partsPerWorker), Math.Max(1, count * costPerItem / InlineCost));
        if (parts <= 1 || !Pool.TryEnter())
        {
            body(state, 0, count);
            return;
        }
        var job = Job<TState>.ForThisThread();
        try
        {
            job.Start(state, body, count, parts);
            Pool.Run(job);
        }
        finally
        {
            job.Clear();
            Pool.Exit();
        }
        job.RethrowFailure();
    }

    /// <summary>
    /// Called with the job (its type names the loop's state type) and the part number between claiming the number and
    /// checking it against the loop's parts, on every thread; for tests.
    /// </summary>
    internal static Action<object, int>? ClaimedForTests;

    /// <summary>A loop handed to the pool: parts are claimed one at a time by whichever thread is free.</summary>
    internal abstract class PoolJob
    {
        // The loop's part count (high 32 bits) and the next part to claim (low 32 bits) in one word, so that one
        // atomic increment both claims a part and reads the count it belongs to. A worker still holding this job from
        // an earlier loop (the calling thread reuses it) may claim at any time: its number is checked against its own
        // loop's count. Read apart, a worker held up between the claim and the check could take a spent number of one
        // loop for a part of the next, run that part twice and leave the parts left below zero, the caller waiting
        // for ever. A spent loop's word stays past its count until the next Reset.
        private long _claims;
        private int _partsLeft;
        private ExceptionDispatchInfo? _failure;

        public bool Finished => Volatile.Read(ref _partsLeft) == 0;

        protected void Reset(int parts)
        {
            _failure = null;
            Volatile.Write(ref _partsLeft, parts);
            Volatile.Write(ref _claims, (long)parts << 32);
        }

        /// <summary>Runs parts until none are left to claim.</summary>
        public void Work()
        {
            while (true)
            {
                long claim = Interlocked.Increment(ref _claims) - 1;
                int part = (int)claim, parts = (int)(claim >> 32);
                ClaimedForTests?.Invoke(this, part);
                if (part >= parts) return;
                try
                {
                    RunPart(part, parts);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                }
                Interlocked.Decrement(ref _partsLeft);
            }
        }

        protected abstract void RunPart(int part, int parts);

        public void RethrowFailure() => _failure?.Throw();
    }

    private sealed class Job<TState> : PoolJob
    {
        [ThreadStatic] private static Job<TState>? _forThisThread;

        private TState _state = default!;
        private RangeBody<TState>? _body;
        private int _count;

        public static Job<TState> ForThisThread() => _forThisThread ??= new Job<TState>();

        public void Start(in TState state, RangeBody<TState> body, int count, int parts)
        {
            _state = state;
            _body = body;
            _count = count;
            Reset(parts);
        }

        protected override void RunPart(int part, int parts)
        {
            int start = (int)((long)_count * part / parts), end = (int)((long)_count * (part + 1) / parts);
            if (end > start) _body!(_state, start, end);
        }

        /// <summary>Drops the references the state holds, so the pool does not keep tensors alive.</summary>
        public void Clear()
        {
            _state = default!;
            _body = null;
        }
    }

    /// <summary>
    /// Background threads that join the caller on each job. They spin briefly after a job, since the next one
    /// usually follows within microseconds, then sleep until signalled.
    /// </summary>
    private sealed class WorkerPool
    {
        private const int SpinIterations = 20_000;

        private readonly object _gate = new();
        private readonly SemaphoreSlim _wake = new(0);
        private readonly int _threads;
        private PoolJob? _job;
        private long _generation;
        private int _sleeping;

        [ThreadStatic] private static bool _isWorker;

        public WorkerPool(int threads)
        {
            _threads = threads;
            for (int i = 0; i < threads; i++)
                new Thread(Loop) { IsBackground = true, Name = $"musicgen-cpu-{i}" }.Start();
        }

        /// <summary>Claims the pool for one job; false inside a worker or while another thread's job runs.</summary>
        public bool TryEnter() => _threads > 0 && !_isWorker && Monitor.TryEnter(_gate);

        public void Exit() => Monitor.Exit(_gate);

        public void Run(PoolJob job)
        {
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            int sleeping = Interlocked.Exchange(ref _sleeping, 0);
            if (sleeping > 0) _wake.Release(sleeping);
            job.Work();
            var spin = new SpinWait();
            while (!job.Finished) spin.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref _job, null);
        }

        private void Loop()
        {
            _isWorker = true;
            long seen = 0;
            while (true)
            {
                long generation = Volatile.Read(ref _generation);
                for (int i = 0; generation == seen && i < SpinIterations; i++)
                {
                    Thread.SpinWait(20);
                    generation = Volatile.Read(ref _generation);
                }
                if (generation == seen)
                {
                    Interlocked.Increment(ref _sleeping);
                    // A job published between the check and the increment must not be missed.
                    if (Volatile.Read(ref _generation) == seen) _wake.Wait();
                    continue;
                }
                seen = generation;
                Volatile.Read(ref _job)?.Work();
            }
        }
    }
}
