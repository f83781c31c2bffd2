namespace FastPath.Addressing;

/// <summary>L4 protocol numbers as IP carries them. ANY (0) appears only in control-plane
/// models (Cilium's "ANY" port protocol); the fast path only sees TCP and UDP.</summary>
public enum L4Protocol : byte
{
    Any = 0,
    Tcp = 6,
    Udp = 17,
    Sctp = 132,
}

public static class L4ProtocolNames
{
    /// <summary>Upper-case name as Cilium spells it in JSON and listings.</summary>
    public static string ToName(this L4Protocol protocol) => protocol switch
    {
        L4Protocol.Tcp => "TCP",
        L4Protocol.Udp => "UDP",
        L4Protocol.Sctp => "SCTP",
        _ => "ANY",
    };

    public static bool TryParse(string? text, out L4Protocol protocol)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "TCP": protocol = L4Protocol.Tcp; return true;
            case "UDP": protocol = L4Protocol.Udp; return true;
            case "SCTP": protocol = L4Protocol.Sctp; return true;
            case "ANY": protocol = L4Protocol.Any; return true;
            default: protocol = default; return false;
        }
    }
}
