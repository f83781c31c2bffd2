using FastPath.Maglev;

namespace FastPath.Tests;

public class FastModulusTests
{
    [Fact]
    public void Reduce_equals_the_remainder_for_every_Maglev_table_size_and_any_32_bit_value()
    {
        var random = new Random(65521);
        uint[] edges = [0, 1, 2, 250, 251, 252, 65520, 65521, 65522, int.MaxValue, uint.MaxValue - 1, uint.MaxValue];
        foreach (uint size in new uint[] { 1, 2, 3, 7, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, uint.MaxValue })
        {
            var modulus = new FastModulus(size);
            foreach (uint x in edges)
                Assert.Equal(x % size, modulus.Reduce(x));
            for (int i = 0; i < 100_000; i++)
            {
                uint x = (uint)random.NextInt64(0, 1L << 32);
                Assert.True(x % size == modulus.Reduce(x), $"{x} mod {size}: expected {x % size}, got {modulus.Reduce(x)}");
            }
        }
    }

    [Fact]
    public void A_zero_divisor_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new FastModulus(0));
}
