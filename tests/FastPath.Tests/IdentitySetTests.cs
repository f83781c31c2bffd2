using FastPath.Policy;

namespace FastPath.Tests;

/// <summary>IdentitySet against a HashSet reference on random sets of every layout (vector, bitmap,
/// hash), sizes 0..5000, with identities near 0 and near 2^24; plus the zero-allocation guarantee.</summary>
public class IdentitySetTests
{
    private const uint Top = (1u << 24) - 1;

    public static TheoryData<int, string> Shapes => new()
    {
        { 20261122, "sparse" }, { 7, "dense" }, { 8, "strided" }, { 99, "low" }, { 12345, "high" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Contains_agrees_with_a_hashset_for_random_sets_of_every_size(int seed, string shape)
    {
        var random = new Random(seed);
        foreach (int size in new[] { 0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 255, 256, 1000, 4095, 5000 })
        {
            var reference = new HashSet<uint>();
            while (reference.Count < size)
                reference.Add(Draw(random, shape));
            var set = IdentitySet.Create(reference.Concat(reference.Take(3))); // duplicates are fine
            Assert.Equal(size, set.Count);
            Assert.True(set.Members.ToArray().SequenceEqual(reference.Order()), $"{shape}/{size}: members not sorted");
            // Every member, its neighbours, the extremes and random probes.
            var probes = reference.SelectMany(id => new[] { id, id - 1, id + 1 })
                .Concat(new uint[] { 0, 1, 2, Top - 1, Top, Top + 1, uint.MaxValue })
                .Concat(Enumerable.Range(0, 500).Select(_ => Draw(random, shape)));
            foreach (uint probe in probes)
            {
                bool expected = reference.Contains(probe);
                if (expected != set.Contains(probe))
                    Assert.Fail($"{shape} size {size} ({set.LayoutName}): Contains({probe}) = {set.Contains(probe)}, reference {expected}");
                // The benchmark's reference strategies must be right too, at every size.
                if (expected != IdentitySet.ContainsBinary(set.Members, probe) || expected != IdentitySet.ContainsVector(set.Members, probe))
                    Assert.Fail($"{shape} size {size}: binary/vector strategy disagrees with the reference for {probe}");
            }
        }
    }

    private static uint Draw(Random random, string shape) => shape switch
    {
        "strided" => (uint)random.Next(0, 8192) * 2048,                 // 11 equal low bits: stresses the hash
        "dense" => (uint)random.Next(65536, 65536 + 8000),          // one cluster's range, packed → bitmap
        "low" => (uint)random.Next(0, 12000),                          // near 0, reserved ids included
        "high" => Top - (uint)random.Next(0, 12000),                   // near 2^24
        _ => (uint)random.Next(0, (int)Top + 1),                       // spread over 24 bits → hash
    };

    [Fact]
    public void The_layout_follows_the_sets_shape()
    {
        Assert.Equal("vector", IdentitySet.Create(Enumerable.Range(1, IdentitySet.VectorScanMaxCount).Select(i => (uint)i * 1000)).LayoutName);
        Assert.Equal("bitmap", IdentitySet.Create(Enumerable.Range(65536, 1000).Select(i => (uint)i)).LayoutName);
        Assert.Equal("hash", IdentitySet.Create(Enumerable.Range(0, 1000).Select(i => (uint)i * 16000)).LayoutName);
        Assert.True(IdentitySet.All.Contains(Top) && IdentitySet.All.Contains(0));
        Assert.False(IdentitySet.Empty.Contains(0));
    }

    [Fact]
    public void Identities_above_24_bits_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentitySet.Create(new[] { Top + 1 }));
    }

    [Fact]
    public void A_million_Contains_calls_allocate_nothing_in_any_layout()
    {
        var sets = new[]
        {
            IdentitySet.Create(new uint[] { 2, 65537, 131077 }),
            IdentitySet.Create(Enumerable.Range(65536, 3000).Select(i => (uint)i)),
            IdentitySet.Create(Enumerable.Range(0, 3000).Select(i => (uint)i * 5000)),
            IdentitySet.All,
        };
        int hits = 0;
        foreach (var s in sets)
            for (uint i = 0; i < 100_000; i++)
                if (s.Contains(i * 7)) hits++;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (uint i = 0; i < 1_000_000; i++)
            if (sets[i & 3].Contains(i * 7)) hits++;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(hits > 0);
    }
}
