using System.Runtime.CompilerServices;
using FastPath.Maglev;
using FastPath.Packets;

namespace FastPath.Pipeline;

/// <summary>
/// Picks the Maglev slot for a new flow (SPEC §8): hash of client address, service port,
/// client port and protocol — deliberately not the VIP, matching Cilium — modulo the table
/// size. The one place the pipeline calls the hash.
/// </summary>
internal static class BackendSelector
{
    /// <summary>The slot, reduced with the snapshot's precomputed modulus of its table size when the
    /// table has that size (every table a snapshot builds does; others fall back to %).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Slot(in ParsedPacket packet, int tableSize, uint seedV4, uint seedV6, in FastModulus modulus)
    {
        uint hash = Hash(in packet, seedV4, seedV6);
        return (int)(tableSize == (int)modulus.Divisor ? modulus.Reduce(hash) : hash % (uint)tableSize);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(in ParsedPacket packet, uint seedV4, uint seedV6) =>
        packet.IsV6
            ? MaglevHash.LookupV6(in packet.Source, packet.DestinationPortRaw, packet.SourcePortRaw, packet.Protocol, seedV6)
            : MaglevHash.LookupV4(packet.Source.V4Raw, packet.DestinationPortRaw, packet.SourcePortRaw, packet.Protocol, seedV4);
}
