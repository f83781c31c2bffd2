using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;

namespace FastPath.Maglev;

/// <summary>
/// The per-flow Maglev lookup hash (SPEC §8): which table slot a client's flow lands in,
/// computed exactly as Cilium's datapath does (bpf/lib/hash.h __hash_from_tuple_v4/_v6 as called
/// by lb4/lb6_select_backend_id_maglev in bpf/lib/lb.h), so that FastPath and Cilium nodes
/// send the same flow to the same backend.
///
/// "Raw" values are the bytes of the header fields read as little-endian integers, i.e.
/// exactly what a BPF program on x86 gets when it loads the network-order field.
/// The VIP is deliberately not hashed (so one client flow maps alike across a service's VIPs).
/// With ClientIP session affinity Cilium hashes client port 0: callers pass 0 then.
/// Take the result modulo the table size. Allocation-free, no branches on data.
/// </summary>
public static class MaglevHash
{
    /// <summary>Slot hash for an IPv4 flow:
    /// jhash_3words(saddr, (service_port &lt;&lt; 16) | client_port, proto, ipv4 seed).</summary>
    /// <remarks>
    /// Cilium's ct tuple stores the ports swapped (tuple->sport is the service port), and
    /// lb4_select_backend_id_maglev swaps them back before hashing, so the word is
    /// (service port &lt;&lt; 16) | client port, each port as its raw 16-bit load. (Cilium before
    /// the __hash_from_tuple_v4 split hashed (client &lt;&lt; 16) | service; we follow current Cilium.)
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint LookupV4(uint clientAddressRaw, ushort servicePortRaw, ushort clientPortRaw, byte protocol, uint seed)
        => JHash.Hash3Words(clientAddressRaw, ((uint)servicePortRaw << 16) | clientPortRaw, protocol, seed);

    /// <summary>Slot hash for an IPv6 flow.</summary>
    /// <remarks>
    /// Not jhash_3words: Cilium mixes the four raw address words and the ports directly,
    /// without JHASH_INITVAL: (a,b,c) = (w0,w1,w2); mix; a+=w3; b+=ports; c+=proto; mix;
    /// a+=ipv6 seed; final; return c. SPEC §8 only spells out the IPv4 formula.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint LookupV6(in NetAddress clientAddress, ushort servicePortRaw, ushort clientPortRaw, byte protocol, uint seed)
    {
        // The 16 address bytes in wire order, viewed as four native (little-endian) u32 loads,
        // the same as the BPF program's tuple->saddr.p1..p4.
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<NetAddress, uint>(
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in clientAddress), 1));
        uint a = words[0];
        uint b = words[1];
        uint c = words[2];
        JHash.Mix(ref a, ref b, ref c);
        a += words[3];
        b += ((uint)servicePortRaw << 16) | clientPortRaw;
        c += protocol;
        JHash.Mix(ref a, ref b, ref c);
        a += seed;
        JHash.Final(ref a, ref b, ref c);
        return c;
    }
}
