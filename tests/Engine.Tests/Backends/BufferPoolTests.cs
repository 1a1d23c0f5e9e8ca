using MusicGen.Engine.Backends.Cpu;

namespace MusicGen.Tests.Backends;

/// <summary>The CPU backend's pool of large arrays: reuse by length, cleared, the most recently returned kept.</summary>
public sealed class BufferPoolTests
{
    private const int Large = (int)(BufferPool.RetainedLimit / 4) - 8; // four fit in the pool, five do not

    [Fact]
    public void A_returned_array_comes_back_cleared_for_the_same_length_only()
    {
        var pool = new BufferPool();
        var array = pool.Rent(BufferPool.MinimumLength);
        array[7] = 3f;
        pool.Return(array);
        Assert.NotSame(array, pool.Rent(BufferPool.MinimumLength + 1));
        var again = pool.Rent(BufferPool.MinimumLength);
        Assert.Same(array, again);
        Assert.Equal(0f, again[7]);
    }

    [Fact]
    public void An_uninitialized_rent_takes_a_returned_array_back_as_it_is_and_a_later_rent_clears_it()
    {
        var pool = new BufferPool();
        var array = pool.Rent(BufferPool.MinimumLength);
        array[7] = 3f;
        pool.Return(array);
        var uninitialized = pool.Rent(BufferPool.MinimumLength, clear: false);
        Assert.Same(array, uninitialized);
        Assert.Equal(3f, uninitialized[7]);
        pool.Return(uninitialized);
        Assert.Equal(0f, pool.Rent(BufferPool.MinimumLength)[7]);
    }

    [Fact]
    public void Beyond_the_limit_the_oldest_arrays_give_way_to_the_newest()
    {
        var pool = new BufferPool();
        var arrays = Enumerable.Range(0, 5).Select(i => pool.Rent(Large + i)).ToArray();
        foreach (var array in arrays) pool.Return(array);
        Assert.NotSame(arrays[0], pool.Rent(Large));
        for (int i = 1; i < arrays.Length; i++) Assert.Same(arrays[i], pool.Rent(Large + i));
    }

    [Fact]
    public void Arrays_below_the_minimum_are_left_to_the_collector()
    {
        var pool = new BufferPool();
        var small = pool.Rent(BufferPool.MinimumLength - 1);
        pool.Return(small);
        Assert.NotSame(small, pool.Rent(BufferPool.MinimumLength - 1));
    }
}
