using FastPath.Addressing;

namespace FastPath.Maglev;

/// <summary>
/// One backend as the Maglev table builder sees it. <paramref name="Id"/> is what the table
/// slots hold (the datapath's backend id); 0 means "none" and is rejected by the builder.
/// <paramref name="Port"/> is in host order. <paramref name="Weight"/> 0 means the backend takes
/// no new flows (Cilium's maintenance weight) and is left out of the table.
/// </summary>
public readonly record struct MaglevBackend(uint Id, NetAddress Address, ushort Port, L4Protocol Protocol, ushort Weight = MaglevBackend.DefaultWeight)
{
    /// <summary>Cilium's default backend weight.</summary>
    public const ushort DefaultWeight = 100;

    /// <summary>The string Cilium hashes and sorts by, e.g. <c>[10.0.0.1:80/TCP,State:active]</c>.
    /// Allocates; for logs, tools and tests (the builder formats into pooled buffers).</summary>
    public string HashString()
    {
        Span<byte> buffer = stackalloc byte[MaglevHashString.MaxBytes];
        int length = MaglevHashString.Write(this, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer.Slice(0, length));
    }
}
