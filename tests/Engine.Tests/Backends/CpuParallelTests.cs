using System.Runtime.ExceptionServices;
using MusicGen.Engine.Backends.Cpu;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The worker pool under the interleaving a loaded machine makes: a worker preempted between claiming a part number
/// and running it. The claim hook holds the worker there, so the test does not depend on the scheduler. It runs in
/// the collection that runs alone: the pool takes one caller's loop at a time, and another caller's would run inline.
/// </summary>
[Collection("Console")]
public class CpuParallelTests
{
    /// <summary>Both loops' state: the same type, so the calling thread's job object is reused, as in a decoding step.</summary>
    private sealed record Probe(ManualResetEventSlim SecondPartStarted, ManualResetEventSlim NextLoopStarted, ManualResetEventSlim Released, int[] Runs);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_part_number_claimed_as_a_loop_ends_is_never_run_in_the_next_loop()
    {
        Assert.True(CpuParallel.Workers >= 2, "the pool needs a worker beside the calling thread");
        using var heldAfterClaim = new ManualResetEventSlim();
        var probe = new Probe(new(), new(), new(), new int[8]);
        int held = 0;
        CpuParallel.ClaimedForTests = (job, part) =>
        {
            // The worker's first number past the first loop's two parts, held until the next loop has begun; the
            // loops of anything else in the process go by.
            if (job.GetType().GenericTypeArguments is not [var state] || state != typeof(Probe)) return;
            if (Thread.CurrentThread.Name?.StartsWith("musicgen-cpu") != true || part < 2 || Interlocked.Exchange(ref held, 1) == 1) return;
            heldAfterClaim.Set();
            probe.NextLoopStarted.Wait(Patience);
            probe.Released.Set();
        };
        try
        {
            Exception? failure = null;
            // A thread of its own: with the claim and its loop's count read apart, it never came back (it is left
            // behind as a background thread).
            var caller = new Thread(() =>
            {
                try
                {
                    RunTwoLoops(probe, heldAfterClaim);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            }) { IsBackground = true };
            caller.Start();
            Assert.True(caller.Join(Patience), "the second loop never ended");
            if (failure is not null) ExceptionDispatchInfo.Throw(failure);
            Assert.Equal(Enumerable.Repeat(1, 8), probe.Runs);
        }
        finally
        {
            CpuParallel.ClaimedForTests = null;
        }
    }

    private static void RunTwoLoops(Probe probe, ManualResetEventSlim heldAfterClaim)
    {
        // Two parts: the caller takes part 0 and waits in it until the worker has taken part 1, so the worker's next
        // claim (2) is a spent one.
        CpuParallel.For(2, long.MaxValue / 4, probe, static (in p, start, end) =>
        {
            if (start == 0) p.SecondPartStarted.Wait(Patience);
            else p.SecondPartStarted.Set();
        }, partsPerWorker: 1);
        Assert.True(heldAfterClaim.Wait(Patience), "the worker never claimed past the first loop");
        // Eight parts, one item each: the first waits until the held worker has gone on.
        CpuParallel.For(8, long.MaxValue / 16, probe, static (in p, start, end) =>
        {
            if (start == 0)
            {
                p.NextLoopStarted.Set();
                p.Released.Wait(Patience);
            }
            for (int i = start; i < end; i++) Interlocked.Increment(ref p.Runs[i]);
        }, partsPerWorker: 4);
    }
}
