using FastPath.Addressing;
using FastPath.ControlPlane.Identity;
using FastPath.Policy;

namespace FastPath.ControlPlane.Tests;

/// <summary>Identity numbering (SPEC §6), the identity table and the ipcache's longest-prefix match.</summary>
public class PolicyIdentityTests
{
    [Theory]
    [InlineData(255, 1, 0x1_0000u, 0x1_FFFFu)]
    [InlineData(255, 2, 0x2_0000u, 0x2_FFFFu)]
    [InlineData(255, 255, 0xFF_0000u, 0xFF_FFFFu)]
    [InlineData(511, 1, 0x8000u, 0xFFFFu)]
    [InlineData(511, 511, 0xFF_8000u, 0xFF_FFFFu)]
    public void Each_cluster_owns_its_identity_range_and_ClusterOf_inverts_it(int max, int clusterId, uint first, uint last)
    {
        var layout = IdentityLayout.ForMaxConnectedClusters(max);
        Assert.Equal((first, last), layout.RangeOf(clusterId));
        Assert.Equal(clusterId, layout.ClusterOf(first));
        Assert.Equal(clusterId, layout.ClusterOf(last));
        Assert.Equal(max == 255 ? 65535 : 32767, layout.LocalIdentitiesPerCluster);
    }

    [Fact]
    public void Max_connected_clusters_other_than_255_or_511_is_rejected_naming_the_flag()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => IdentityLayout.ForMaxConnectedClusters(256));
        Assert.Contains("--max-connected-clusters must be 255 or 511", e.Message);
    }

    [Fact]
    public void Reserved_identities_carry_ciliums_reserved_labels()
    {
        var table = IdentityTable.ReservedOnly;
        var expected = new Dictionary<uint, string>
        {
            [1] = "host", [2] = "world", [3] = "unmanaged", [4] = "health", [5] = "init", [6] = "remote-node",
            [7] = "kube-apiserver", [8] = "ingress", [9] = "world-ipv4", [10] = "world-ipv6",
        };
        foreach (var (id, name) in expected)
        {
            Assert.True(table.TryGet(id, out var labels));
            Assert.Equal($"reserved:{name}=;", labels.ToKvstoreString());
        }
        Assert.False(table.TryGet(0, out _));
    }

    [Fact]
    public void Identity_table_parses_kvstore_entries_and_rejects_reserved_numbers()
    {
        var entry = IdentityTable.ParseKvstoreEntry("cilium/state/identities/v1/id/131077",
            "k8s:app=bookstore;k8s:io.cilium.k8s.policy.cluster=hk;k8s:io.kubernetes.pod.namespace=default;");
        var table = IdentityTable.Create(new[] { entry });
        Assert.True(table.TryGet(131077, out var labels));
        Assert.Equal("hk", labels.Cluster);
        Assert.Equal(2, IdentityLayout.Clusters255.ClusterOf(131077));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentityTable.Create(new[] { new KeyValuePair<uint, LabelSet>(5, labels) }));
        Assert.Throws<FormatException>(() => IdentityTable.ParseKvstoreEntry("cilium/state/identities/v1/id/x", ""));
    }

    // description, entries (prefix=identity), address, expected identity
    public static TheoryData<string, string[], string, uint> LpmCases => new()
    {
        { "exact host entry", new[] { "10.245.2.41=131077" }, "10.245.2.41", 131077 },
        { "missing address is world", new[] { "10.245.2.41=131077" }, "10.245.2.42", 2 },
        { "empty cache is world", Array.Empty<string>(), "192.0.2.1", 2 },
        { "exact beats a covering prefix", new[] { "10.245.0.0/16=6", "10.245.2.41=131077" }, "10.245.2.41", 131077 },
        { "prefix covers other hosts", new[] { "10.245.0.0/16=6", "10.245.2.41=131077" }, "10.245.9.9", 6 },
        { "longer prefix wins", new[] { "10.0.0.0/8=300", "10.245.0.0/16=400", "10.245.2.0/24=500" }, "10.245.2.7", 500 },
        { "longer prefix wins, middle", new[] { "10.0.0.0/8=300", "10.245.0.0/16=400", "10.245.2.0/24=500" }, "10.245.3.7", 400 },
        { "shortest prefix as last resort", new[] { "10.0.0.0/8=300", "10.245.0.0/16=400" }, "10.1.1.1", 300 },
        { "/0 catches everything v4", new[] { "0.0.0.0/0=9" }, "203.0.113.5", 9 },
        { "v4 /0 does not cover v6", new[] { "0.0.0.0/0=9" }, "2001:db8::1", 2 },
        { "v6 /0 does not cover v4", new[] { "::/0=10" }, "203.0.113.5", 2 },
        { "v6 exact", new[] { "fd00:10:245::/48=400", "fd00:10:245::29=131077" }, "fd00:10:245::29", 131077 },
        { "v6 prefix", new[] { "fd00:10:245::/48=400", "fd00:10:245::29=131077" }, "fd00:10:245:1::1", 400 },
        { "v6 odd-length prefix", new[] { "fd00::/7=400", "fd00::/9=500" }, "fd80::1", 400 },
        { "v6 odd-length prefix, longer", new[] { "fd00::/7=400", "fd00::/9=500" }, "fd7f::1", 500 },
        { "v6 prefix beyond 64 bits", new[] { "fd00::/72=400" }, "fd00::ff:1", 400 },
        { "v6 prefix beyond 64 bits excludes", new[] { "fd00::/72=400" }, "fd00:0:0:0:100::1", 2 },
        { "later add replaces the same prefix", new[] { "10.1.0.0/16=300", "10.1.0.0/16=301" }, "10.1.2.3", 301 },
        { "host bits in a prefix key are masked", new[] { "10.1.2.3/16=300" }, "10.1.200.200", 300 },
    };

    [Theory]
    [MemberData(nameof(LpmCases))]
    public void Ipcache_longest_prefix_match(string description, string[] entries, string address, uint expected)
    {
        var builder = new IpCacheBuilder();
        foreach (var e in entries)
        {
            var parts = e.Split('=');
            builder.Add(parts[0], uint.Parse(parts[1]));
        }
        Assert.True(expected == builder.Build().Lookup(NetAddress.Parse(address)), description);
    }

    [Fact]
    public void A_remote_clusters_host_entry_becomes_remote_node()
    {
        var cache = new IpCacheBuilder().Add("172.18.0.3", 1, fromRemoteCluster: true).Add("172.18.0.2", 1).Build();
        Assert.Equal(6u, cache.Lookup(NetAddress.Parse("172.18.0.3")));
        Assert.Equal(1u, cache.Lookup(NetAddress.Parse("172.18.0.2")));
    }

    [Fact]
    public void Ipcache_lookups_allocate_nothing()
    {
        var builder = new IpCacheBuilder();
        for (int i = 0; i < 200; i++)
            builder.Add($"10.{i}.0.0/16", 300u + (uint)i).Add($"10.{i}.1.{i}", 1000u + (uint)i);
        var cache = builder.Build();
        var probe = NetAddress.Parse("10.7.1.7");
        Assert.Equal(1007u, cache.Lookup(probe));
        uint sink = 0;
        for (int i = 0; i < 10_000; i++) sink += cache.Lookup(probe);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++) sink += cache.Lookup(probe);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0u, sink);
    }

    [Fact]
    public void Ipcache_rejects_bad_keys_naming_them()
    {
        var e = Assert.Throws<FormatException>(() => new IpCacheBuilder().Add("10.0.0.0/33", 300));
        Assert.Contains("10.0.0.0/33", e.Message);
        Assert.Throws<FormatException>(() => new IpCacheBuilder().Add("not-an-ip", 300));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IpCacheBuilder().Add("10.0.0.1", 0));
    }
}
