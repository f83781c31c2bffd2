using FastPath.Addressing;
using FastPath.Policy;

namespace FastPath.Tests.Fixtures;

/// <summary>
/// Identities for the <see cref="PipelineRig"/> world, laid out like seed 000 (tokyo-cluster = 1,
/// hk-cluster = 2, 255-cluster layout: cluster id in bits 16–23):
///
///   client 10.0.0.1 / fd00::1  = netshoot (tokyo)     backend 1 10.244.1.1, backend 6 fd00:244::6 = bookstore (tokyo)
///   client 10.0.0.2            = other (tokyo)        backend 2 10.244.2.2                        = bookstore (hk)
///   anything else              = world (2)
///
/// Used by the policy pipeline tests and the policy-on benchmarks.
/// </summary>
public static class PolicyFixture
{
    public const uint Netshoot = (1u << 16) + 10;
    public const uint BookstoreTokyo = (1u << 16) + 11;
    public const uint Other = (1u << 16) + 13;
    public const uint BookstoreHk = (2u << 16) + 11;
    public const uint World = IpCache.WorldIdentity;
    public const ushort BackendPort = 8080;

    public static readonly NetAddress Client1 = NetAddress.Parse("10.0.0.1");
    public static readonly NetAddress Client2 = NetAddress.Parse("10.0.0.2");

    public static IpCache StandardIpCache() => Build(
        ("10.0.0.1/32", Netshoot), ("fd00::1/128", Netshoot), ("10.0.0.2/32", Other),
        ("10.244.1.1/32", BookstoreTokyo), ("fd00:244::6/128", BookstoreTokyo), ("10.244.2.2/32", BookstoreHk));

    public static IpCache Build(params (string Prefix, uint Identity)[] entries)
    {
        var list = new List<IpCacheEntry>();
        foreach (var (prefix, identity) in entries)
        {
            string[] parts = prefix.Split('/');
            list.Add(new IpCacheEntry(NetAddress.Parse(parts[0]), byte.Parse(parts[1]), identity));
        }
        return new IpCache(list.ToArray());
    }

    /// <summary>Seed 000 in table form: netshoot may send only to tokyo's bookstore on 8080/TCP.</summary>
    public static PolicyVerdicts NetshootToTokyoBookstoreOnly(long revision = 1) => new PolicyVerdictsBuilder()
        .Allow(Netshoot, Direction.Egress, L4Protocol.Tcp, BackendPort, 0, IdentitySet.Create([BookstoreTokyo]))
        .Build(revision);
}
