using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Tests;

public class MaglevTableBuilderTests
{
    private static readonly MaglevParameters M16381 = MaglevParameters.Default;
    private static readonly MaglevParameters M251 = MaglevParameters.Create(251, MaglevParameters.DefaultSeedBase64);

    /// <summary>Backend i (1-based id) at 10.(i/256).(i%256).1:8080/TCP.</summary>
    private static MaglevBackend[] Backends(int count, ushort weight = MaglevBackend.DefaultWeight)
    {
        var backends = new MaglevBackend[count];
        for (int i = 0; i < count; i++)
            backends[i] = new MaglevBackend((uint)(i + 1), NetAddress.Parse($"10.{i / 256}.{i % 256}.1"), 8080, L4Protocol.Tcp, weight);
        return backends;
    }

    private static Dictionary<uint, int> SlotCounts(uint[] table)
    {
        var counts = new Dictionary<uint, int>();
        foreach (uint id in table)
            counts[id] = counts.GetValueOrDefault(id) + 1;
        return counts;
    }

    [Theory]
    [InlineData(1, 251)]
    [InlineData(3, 251)]
    [InlineData(100, 16381)]
    [InlineData(251, 251)]
    public void Every_slot_holds_a_backend_when_there_is_at_least_one(int backendCount, int tableSize)
    {
        var parameters = MaglevParameters.Create(tableSize, MaglevParameters.DefaultSeedBase64);
        var backends = Backends(backendCount);

        uint[] table = MaglevTableBuilder.Build(backends, parameters);

        Assert.Equal(tableSize, table.Length);
        Assert.DoesNotContain(MaglevTableBuilder.NoBackend, table);
        Assert.Equal(backendCount, SlotCounts(table).Count);
    }

    [Fact]
    public void An_empty_backend_list_leaves_every_slot_empty()
    {
        uint[] table = Enumerable.Repeat(7u, 251).ToArray();

        MaglevTableBuilder.Build(ReadOnlySpan<MaglevBackend>.Empty, M251, table);

        Assert.All(table, slot => Assert.Equal(MaglevTableBuilder.NoBackend, slot));
    }

    // Maglev is not minimally disruptive: when a backend goes, some slots of the others move too,
    // and how many shrinks as M/N grows. With N = 100 the ≤ 1% bound holds at M = 65521
    // (measured 0.51–0.64% over every choice of removed backend), but NOT at the default
    // M = 16381 (M/N ≈ 164; measured 1.21–1.55%) — the same tables Cilium builds, whose
    // "N·100 < M guarantees < 1%" comment only holds for its three-backend test. So the
    // default-size case is held to 2%. (Small N is no guarantee either: three backends
    // 10.0.0-2.1:8080 at M = 1021 move 1.4%; Cilium's own three-backend test happens to pass,
    // see MaglevCiliumCompatibilityTests.)
    [Theory]
    [InlineData(65521, 1.0)]
    [InlineData(16381, 2.0)]
    public void Removing_one_of_100_backends_moves_few_of_the_other_backends_slots(int tableSize, double maxPercent)
    {
        var parameters = MaglevParameters.Create(tableSize, MaglevParameters.DefaultSeedBase64);
        var backends = Backends(100);

        foreach (int removeIndex in new[] { 0, 42, 99 })
        {
            int moved = MovedSlotsOfOthers(backends, removeIndex, parameters);
            Assert.True(moved * 100.0 / tableSize <= maxPercent,
                $"removing backend {removeIndex} moved {moved} of {tableSize} slots of other backends");
        }
    }

    private static int MovedSlotsOfOthers(MaglevBackend[] backends, int removeIndex, MaglevParameters parameters)
    {
        uint removed = backends[removeIndex].Id;
        uint[] before = MaglevTableBuilder.Build(backends, parameters);
        uint[] after = MaglevTableBuilder.Build(backends.Where(b => b.Id != removed).ToArray(), parameters);
        int moved = 0;
        for (int slot = 0; slot < before.Length; slot++)
        {
            Assert.NotEqual(removed, after[slot]);
            if (before[slot] != removed && after[slot] != before[slot])
                moved++;
        }
        return moved;
    }

    [Fact]
    public void The_table_does_not_depend_on_the_input_order()
    {
        var backends = Backends(50);
        uint[] expected = MaglevTableBuilder.Build(backends, M16381);
        var random = new Random(1234);

        for (int round = 0; round < 5; round++)
        {
            var shuffled = backends.ToArray();
            random.Shuffle(shuffled);
            Assert.Equal(expected, MaglevTableBuilder.Build(shuffled, M16381));
        }
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData(MaglevBackend.DefaultWeight)]
    public void Equal_weights_give_shares_that_differ_by_at_most_one_slot(ushort weight)
    {
        // Equal weights are plain round robin: every turn places exactly one slot.
        uint[] table = MaglevTableBuilder.Build(Backends(100, weight), M16381);

        var counts = SlotCounts(table).Values;
        Assert.Equal(100, counts.Count);
        Assert.True(counts.Max() - counts.Min() <= 1, $"shares range from {counts.Min()} to {counts.Max()}");
    }

    [Theory]
    [InlineData(251)]
    [InlineData(1021)]
    [InlineData(16381)]
    public void Weights_1_2_3_give_slot_counts_proportional_to_weight(int tableSize)
    {
        // Cilium's test asserts round(M * w / sum) within one slot (16/98/832/75 at M=1021);
        // we assert the same bound for 1:2:3.
        var parameters = MaglevParameters.Create(tableSize, MaglevParameters.DefaultSeedBase64);
        var backends = Backends(3);
        backends[0] = backends[0] with { Weight = 1 };
        backends[1] = backends[1] with { Weight = 2 };
        backends[2] = backends[2] with { Weight = 3 };

        var counts = SlotCounts(MaglevTableBuilder.Build(backends, parameters));

        foreach (var backend in backends)
        {
            double ideal = tableSize * backend.Weight / 6.0;
            Assert.InRange(counts[backend.Id], ideal - 1.5, ideal + 1.5);
        }
    }

    [Fact]
    public void Weight_zero_backends_get_no_slots_and_do_not_change_the_table()
    {
        var backends = Backends(10);
        uint[] withoutDrained = MaglevTableBuilder.Build(backends.Take(9).ToArray(), M251);
        backends[9] = backends[9] with { Weight = 0 };

        uint[] table = MaglevTableBuilder.Build(backends, M251);

        Assert.Equal(withoutDrained, table);
    }

    [Fact]
    public void Backend_id_zero_is_rejected_because_zero_means_no_backend()
    {
        var backends = Backends(3);
        backends[1] = backends[1] with { Id = 0 };

        var error = Assert.Throws<ArgumentException>(() => MaglevTableBuilder.Build(backends, M251));
        Assert.Contains("id 0", error.Message);
        Assert.Contains("10.0.1.1:8080/TCP", error.Message);
    }

    [Fact]
    public void A_table_span_of_the_wrong_length_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => MaglevTableBuilder.Build(Backends(2), M251, new uint[250]));
        Assert.Contains("251", error.Message);
    }

    [Fact]
    public void IPv4_and_IPv6_backends_mix_in_one_table()
    {
        MaglevBackend[] backends =
        [
            new(1, NetAddress.Parse("10.0.0.1"), 80, L4Protocol.Tcp),
            new(2, NetAddress.Parse("2001:db8::1"), 80, L4Protocol.Tcp),
            new(3, NetAddress.Parse("fd00::2"), 80, L4Protocol.Tcp),
        ];

        var counts = SlotCounts(MaglevTableBuilder.Build(backends, M251));

        Assert.Equal(3, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 83, 84));
    }

    [Fact]
    public void Concurrent_builds_give_the_same_tables_as_sequential_ones()
    {
        var sets = Enumerable.Range(1, 8).Select(n => Backends(n * 25)).ToArray();
        var sequential = sets.Select(s => MaglevTableBuilder.Build(s, M16381)).ToArray();
        var concurrent = new uint[sets.Length][];

        Parallel.For(0, sets.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            i => concurrent[i % sets.Length] = MaglevTableBuilder.Build(sets[i % sets.Length], M16381));

        for (int i = 0; i < sets.Length; i++)
            Assert.Equal(sequential[i], concurrent[i]);
    }

    [Fact]
    public void Rebuilding_into_an_existing_table_allocates_nothing_once_warm()
    {
        var backends = Backends(1000);
        var table = new uint[65521];
        var parameters = MaglevParameters.Create(65521, MaglevParameters.DefaultSeedBase64);
        MaglevTableBuilder.Build(backends, parameters, table); // warm the pooled scratch

        // Other tests build concurrently and may hand this thread a not-yet-grown scratch from
        // the pool, so take the best of a few rebuilds.
        long allocated = long.MaxValue;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            MaglevTableBuilder.Build(backends, parameters, table);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
    }
}
