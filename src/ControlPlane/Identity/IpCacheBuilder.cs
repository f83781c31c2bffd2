using System.Globalization;
using FastPath.Addressing;
using FastPath.Policy;

namespace FastPath.ControlPlane.Identity;

/// <summary>
/// Collects ipcache entries from all clusters (kvstore keys <c>cilium/state/ip/v1/default/&lt;ip&gt;</c>
/// or <c>&lt;ip&gt;/&lt;prefixlen&gt;</c>) and builds the fast path's <see cref="IpCache"/>.
/// Entries are sorted before building, so the result does not depend on arrival order.
/// </summary>
public sealed class IpCacheBuilder
{
    private readonly Dictionary<string, IpCacheEntry> _parsed = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="prefix"/> ("10.0.0.1", "10.0.0.0/24", "fd00::/64") → identity.
    /// A remote cluster's host identity (1) becomes remote-node (6), as SPEC §4 says. A later add
    /// for the same prefix replaces the earlier one.</summary>
    public IpCacheBuilder Add(string prefix, uint identity, bool fromRemoteCluster = false)
    {
        var entry = ParsePrefix(prefix, identity);
        if (fromRemoteCluster && identity == ReservedIdentities.Host)
            entry = entry with { Identity = ReservedIdentities.RemoteNode };
        string canonical = $"{entry.Address}/{entry.PrefixLength}";
        _parsed[canonical] = entry;
        return this;
    }

    public bool Remove(string prefix)
    {
        var entry = ParsePrefix(prefix, ReservedIdentities.World);
        return _parsed.Remove($"{entry.Address}/{entry.PrefixLength}");
    }

    public int Count => _parsed.Count;

    public IpCache Build()
    {
        var entries = _parsed.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToArray();
        return new IpCache(entries);
    }

    private static IpCacheEntry ParsePrefix(string prefix, uint identity)
    {
        string text = prefix.Trim();
        int slash = text.IndexOf('/');
        string ip = slash < 0 ? text : text[..slash];
        if (!NetAddress.TryParse(ip, out var address))
            throw new FormatException($"ipcache key '{prefix}': '{ip}' is not an IPv4 or IPv6 address");
        int max = address.IsV4 ? 32 : 128;
        int length = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
            throw new FormatException($"ipcache key '{prefix}': prefix length must be 0–{max}");
        if (identity == 0 || identity > 0xFF_FFFF)
            throw new ArgumentOutOfRangeException(nameof(identity), $"ipcache key '{prefix}': identity {identity} is not a non-zero 24-bit identity");
        return new IpCacheEntry(address, (byte)length, identity);
    }
}
