using System.Text;
using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Tests;

/// <summary>
/// The fast builder (lazy permutation, pooled buffers, bitmap occupancy, the vector block probe
/// and tail phase, the prefix sort) must give the same table as a plain transcription of
/// Cilium's algorithm: compute every backend's permutation, then fill turn by turn exactly as
/// pkg/maglev computeLookupTable does. Every case is built twice, with the CPU's vector kernels
/// and with the scalar ones, so both paths stay pinned to the reference.
/// </summary>
public class MaglevReferenceEquivalenceTests
{
    public enum Weights
    {
        /// <summary>All MaglevBackend.DefaultWeight (100): weights "used", all equal.</summary>
        Default,
        /// <summary>Random 1..299: Cilium's weighted turns with skips.</summary>
        Random,
        /// <summary>All 1: sum/N = 1, so Cilium ignores weights.</summary>
        One,
        /// <summary>Backend 0 weighs 60000, the rest 1: backend 0 takes many consecutive turns.</summary>
        OneHeavy,
    }

    public enum Addresses
    {
        /// <summary>Random IPv4 and IPv6 addresses.</summary>
        Random,
        /// <summary>IPv6 in one /64 and IPv4 in one /16: hash strings share long prefixes.</summary>
        SharedPrefix,
    }

    [Theory]
    [InlineData(1, 251, 1, Weights.Default, Addresses.Random)]
    [InlineData(7, 251, 2, Weights.Random, Addresses.Random)]
    [InlineData(40, 1021, 3, Weights.Random, Addresses.Random)]
    [InlineData(300, 2039, 4, Weights.Default, Addresses.Random)]
    [InlineData(120, 4093, 5, Weights.Random, Addresses.Random)]
    [InlineData(2, 16381, 6, Weights.Default, Addresses.Random)]
    [InlineData(100, 16381, 7, Weights.Random, Addresses.SharedPrefix)]
    [InlineData(1000, 16381, 8, Weights.OneHeavy, Addresses.Random)]
    [InlineData(9, 32749, 9, Weights.OneHeavy, Addresses.Random)]
    [InlineData(1, 65521, 10, Weights.Default, Addresses.Random)]
    [InlineData(3, 65521, 11, Weights.Random, Addresses.Random)]
    [InlineData(100, 65521, 12, Weights.Default, Addresses.SharedPrefix)]
    [InlineData(1000, 65521, 13, Weights.Default, Addresses.SharedPrefix)]
    [InlineData(1000, 65521, 14, Weights.Random, Addresses.Random)]
    [InlineData(777, 65521, 15, Weights.One, Addresses.Random)]
    [InlineData(250, 131071, 16, Weights.Random, Addresses.SharedPrefix)]
    public void Fast_builder_equals_a_naive_transcription_of_Ciliums_algorithm(int backendCount, int tableSize, int seed,
        Weights weights, Addresses addresses)
    {
        var random = new Random(seed);
        var parameters = MaglevParameters.Create(tableSize, Convert.ToBase64String(RandomBytes(random, 12)));
        var backends = new MaglevBackend[backendCount];
        byte[] v6Prefix = RandomBytes(random, 8);
        for (int i = 0; i < backendCount; i++)
        {
            NetAddress address;
            if (addresses == Addresses.SharedPrefix)
            {
                byte[] bytes = random.Next(2) == 0 ? [10, 1, .. RandomBytes(random, 2)] : [.. v6Prefix, .. RandomBytes(random, 8)];
                address = bytes.Length == 4 ? NetAddress.FromV4(bytes) : NetAddress.FromV6(bytes);
            }
            else
            {
                address = random.Next(2) == 0 ? NetAddress.FromV4(RandomBytes(random, 4)) : NetAddress.FromV6(RandomBytes(random, 16));
            }
            ushort weight = weights switch
            {
                Weights.Default => MaglevBackend.DefaultWeight,
                Weights.Random => (ushort)random.Next(1, 300),
                Weights.One => 1,
                _ => i == 0 ? (ushort)60000 : (ushort)1,
            };
            backends[i] = new MaglevBackend((uint)(i + 1), address, (ushort)random.Next(1, 65536),
                random.Next(2) == 0 ? L4Protocol.Tcp : L4Protocol.Udp, weight);
        }

        uint[] expected = NaiveCiliumTable(backends, parameters);
        var vector = new uint[tableSize];
        var scalar = new uint[tableSize];
        MaglevTableBuilder.Build(backends, parameters, vector, MaglevKernels.Best);
        MaglevTableBuilder.Build(backends, parameters, scalar, MaglevKernels.Scalar);
        Assert.Equal(expected, vector);
        Assert.Equal(expected, scalar);
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static uint[] NaiveCiliumTable(MaglevBackend[] input, MaglevParameters parameters)
    {
        ulong m = (ulong)parameters.TableSize;
        var backends = input.OrderBy(b => b.HashString(), StringComparer.Ordinal).ToArray();
        int l = backends.Length;
        // Cilium's permutation[i·M + j] = (offset + j·skip) % M, computed when read instead of
        // stored (N·M entries would be 0.5 GB at M = 65521, N = 1000).
        var offsets = new ulong[l];
        var skips = new ulong[l];
        for (int i = 0; i < l; i++)
        {
            var (h1, h2) = MurmurHash3.Hash128(Encoding.ASCII.GetBytes(backends[i].HashString()), parameters.PermutationSeed);
            offsets[i] = h1 % m;
            skips[i] = h2 % (m - 1) + 1;
        }
        ulong Permutation(int i, int j) => (offsets[i] + (ulong)j * skips[i]) % m;

        ulong weightSum = 0;
        var counters = new double[l];
        for (int i = 0; i < l; i++)
        {
            weightSum += backends[i].Weight;
            counters[i] = (double)backends[i].Weight / l;
        }
        bool weightsUsed = weightSum / (ulong)l > 1;

        var next = new int[l];
        var entry = Enumerable.Repeat(uint.MaxValue, (int)m).ToArray();
        for (ulong n = 0; n < m; n++)
        {
            int i = (int)(n % (ulong)l);
            while (true)
            {
                if (weightsUsed)
                {
                    if ((n + 1) * backends[i].Weight < (ulong)counters[i])
                    {
                        i = (i + 1) % l;
                        continue;
                    }
                    counters[i] += weightSum;
                }
                ulong c = Permutation(i, next[i]);
                while (entry[c] != uint.MaxValue)
                {
                    next[i]++;
                    c = Permutation(i, next[i]);
                }
                entry[c] = backends[i].Id;
                next[i]++;
                break;
            }
        }
        return entry;
    }
}
