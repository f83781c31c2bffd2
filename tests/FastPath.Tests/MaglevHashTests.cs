using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Tests;

/// <summary>The per-flow lookup hash must be Cilium's datapath hash (bpf/lib/hash.h).</summary>
public class MaglevHashTests
{
    private static readonly MaglevParameters P = MaglevParameters.Default;

    private static ushort Raw(ushort hostOrderPort) => BinaryPrimitives.ReverseEndianness(hostOrderPort);

    [Fact]
    public void LookupV4_is_jhash_over_the_client_address_and_the_L4_headers_first_four_bytes()
    {
        // With the ports swapped back, the middle word is (service << 16) | client of raw loads:
        // in memory that is client port then service port, i.e. exactly the TCP/UDP header's
        // first 4 bytes (source port, destination port) of the client's packet. So the hash is
        // the kernel jhash of 12 bytes: saddr, sport, dport, proto + 3 zero bytes.
        byte[] bytes = [10, 0, 0, 7, 0xd4, 0x31, 0x1f, 0x90, 6, 0, 0, 0]; // 10.0.0.7:54321 → :8080/TCP
        uint clientRaw = BinaryPrimitives.ReadUInt32LittleEndian(bytes);

        uint hash = MaglevHash.LookupV4(clientRaw, Raw(8080), Raw(54321), 6, P.LookupSeedV4);

        Assert.Equal(JHash.Hash(bytes, P.LookupSeedV4), hash);
    }

    [Fact]
    public void LookupV4_distinguishes_the_service_port_from_the_client_port()
    {
        uint client = NetAddress.Parse("192.0.2.10").V4Raw;

        uint forward = MaglevHash.LookupV4(client, Raw(80), Raw(40000), 6, P.LookupSeedV4);
        uint swapped = MaglevHash.LookupV4(client, Raw(40000), Raw(80), 6, P.LookupSeedV4);

        Assert.NotEqual(forward, swapped);
    }

    [Fact]
    public void LookupV4_depends_on_the_seed_and_protocol()
    {
        uint client = NetAddress.Parse("192.0.2.10").V4Raw;
        uint baseline = MaglevHash.LookupV4(client, Raw(53), Raw(40000), 17, P.LookupSeedV4);

        Assert.NotEqual(baseline, MaglevHash.LookupV4(client, Raw(53), Raw(40000), 6, P.LookupSeedV4));
        Assert.NotEqual(baseline, MaglevHash.LookupV4(client, Raw(53), Raw(40000), 17, P.LookupSeedV4 + 1));
    }

    [Fact]
    public void LookupV6_mixes_the_four_raw_address_words_then_ports_and_protocol_then_the_seed()
    {
        // Re-derived from the wire bytes (not from NetAddress's internal layout) following
        // Cilium's __hash_from_tuple_v6 step by step.
        var client = NetAddress.Parse("2001:db8:85a3::8a2e:370:7334");
        Span<byte> wire = stackalloc byte[16];
        client.WriteBytes(wire);
        uint a = BinaryPrimitives.ReadUInt32LittleEndian(wire);
        uint b = BinaryPrimitives.ReadUInt32LittleEndian(wire.Slice(4));
        uint c = BinaryPrimitives.ReadUInt32LittleEndian(wire.Slice(8));
        JHash.Mix(ref a, ref b, ref c);
        a += BinaryPrimitives.ReadUInt32LittleEndian(wire.Slice(12));
        b += ((uint)Raw(443) << 16) | Raw(50000);
        c += 6;
        JHash.Mix(ref a, ref b, ref c);
        a += P.LookupSeedV6;
        JHash.Final(ref a, ref b, ref c);

        Assert.Equal(c, MaglevHash.LookupV6(client, Raw(443), Raw(50000), 6, P.LookupSeedV6));
    }

    [Fact]
    public void LookupV6_changes_with_every_address_word()
    {
        var baseline = MaglevHash.LookupV6(NetAddress.Parse("2001:db8::1"), Raw(443), Raw(50000), 6, P.LookupSeedV6);

        foreach (string other in new[] { "2001:db9::1", "2001:db8:0:1::1", "2001:db8::1:0:1", "2001:db8::2" })
            Assert.NotEqual(baseline, MaglevHash.LookupV6(NetAddress.Parse(other), Raw(443), Raw(50000), 6, P.LookupSeedV6));
    }

    [Fact]
    public void Lookup_slots_spread_clients_evenly_over_the_table()
    {
        // 10,000 client ports into M = 251: a good hash leaves no slot wildly over- or under-used.
        const int m = 251, flows = 100_000;
        var counts = new int[m];
        uint client = NetAddress.Parse("198.51.100.20").V4Raw;
        for (int i = 0; i < flows; i++)
        {
            uint clientAddress = client + (uint)(i / 50000 << 24);
            counts[MaglevHash.LookupV4(clientAddress, Raw(443), Raw((ushort)(1024 + i % 50000)), 6, P.LookupSeedV4) % m]++;
        }

        double mean = (double)flows / m;
        Assert.All(counts, count => Assert.InRange(count, mean * 0.75, mean * 1.25));
    }

    [Fact]
    public void Lookups_do_not_allocate()
    {
        var v6 = NetAddress.Parse("2001:db8::1");
        MaglevHash.LookupV6(v6, 1, 2, 6, 3);
        long before = GC.GetAllocatedBytesForCurrentThread();
        uint sink = 0;
        for (ushort i = 0; i < 1000; i++)
            sink += MaglevHash.LookupV4(i, 80, i, 6, 1) + MaglevHash.LookupV6(v6, 80, i, 6, 1);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0u, sink);
    }
}
