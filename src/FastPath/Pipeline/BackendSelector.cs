using System.Runtime.CompilerServices;
using FastPath.Maglev;
using FastPath.Packets;

namespace FastPath.Pipeline;

/// <summary>
/// Picks the Maglev slot for a new flow (SPEC §8): hash of client address, service port,
/// client port and protocol — deliberately not the VIP, matching Cilium — modulo the table
/// size. The one place the pipeline calls the hash, so tests can compute expectations with it.
/// </summary>
internal static class BackendSelector
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Slot(in ParsedPacket packet, int tableSize, uint seedV4, uint seedV6)
    {
        uint hash = packet.IsV6
            ? MaglevHash.LookupV6(in packet.Source, packet.DestinationPortRaw, packet.SourcePortRaw, packet.Protocol, seedV6)
            : MaglevHash.LookupV4(packet.Source.V4Raw, packet.DestinationPortRaw, packet.SourcePortRaw, packet.Protocol, seedV4);
        return (int)(hash % (uint)tableSize);
    }
}
