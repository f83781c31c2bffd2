using System.Text;
using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Tests;

/// <summary>
/// The fast builder (lazy permutation, pooled buffers, bitmap occupancy) must give the same
/// table as a plain transcription of Cilium's algorithm: materialise every backend's full
/// permutation, then fill turn by turn exactly as pkg/maglev computeLookupTable does.
/// </summary>
public class MaglevReferenceEquivalenceTests
{
    [Theory]
    [InlineData(1, 251, 1)]
    [InlineData(7, 251, 2)]
    [InlineData(40, 1021, 3)]
    [InlineData(300, 2039, 4)]
    [InlineData(120, 4093, 5)]
    public void Fast_builder_equals_a_naive_transcription_of_Ciliums_algorithm(int backendCount, int tableSize, int seed)
    {
        var random = new Random(seed);
        var parameters = MaglevParameters.Create(tableSize, Convert.ToBase64String(RandomBytes(random, 12)));
        var backends = new MaglevBackend[backendCount];
        for (int i = 0; i < backendCount; i++)
        {
            var address = random.Next(2) == 0
                ? NetAddress.FromV4(RandomBytes(random, 4))
                : NetAddress.FromV6(RandomBytes(random, 16));
            ushort weight = seed % 2 == 0 ? MaglevBackend.DefaultWeight : (ushort)random.Next(1, 300);
            backends[i] = new MaglevBackend((uint)(i + 1), address, (ushort)random.Next(1, 65536),
                random.Next(2) == 0 ? L4Protocol.Tcp : L4Protocol.Udp, weight);
        }

        Assert.Equal(NaiveCiliumTable(backends, parameters), MaglevTableBuilder.Build(backends, parameters));
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
        var permutation = new ulong[l * (int)m];
        for (int i = 0; i < l; i++)
        {
            var (h1, h2) = MurmurHash3.Hash128(Encoding.ASCII.GetBytes(backends[i].HashString()), parameters.PermutationSeed);
            ulong offset = h1 % m, skip = h2 % (m - 1) + 1;
            permutation[i * (int)m] = offset;
            for (int j = 1; j < (int)m; j++)
                permutation[i * (int)m + j] = (permutation[i * (int)m + j - 1] + skip) % m;
        }

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
                ulong c = permutation[i * (int)m + next[i]];
                while (entry[c] != uint.MaxValue)
                {
                    next[i]++;
                    c = permutation[i * (int)m + next[i]];
                }
                entry[c] = backends[i].Id;
                next[i]++;
                break;
            }
        }
        return entry;
    }
}
