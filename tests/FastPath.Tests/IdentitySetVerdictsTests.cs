using FastPath.Addressing;
using FastPath.Policy;

namespace FastPath.Tests;

/// <summary>PolicyVerdicts: default allow, default deny per direction, exact / wildcard-port / range
/// entries, protocol ANY, and no allocation on the lookup.</summary>
public class IdentitySetVerdictsTests
{
    private const uint Db = 65_566, Employee = 131_103, Stranger = 65_568, World = 2;
    private const byte Tcp = 6, Udp = 17;

    private static PolicyVerdicts Build() => new PolicyVerdictsBuilder()
        .Allow(Db, Direction.Ingress, L4Protocol.Tcp, 6379, 0, IdentitySet.Create(new[] { Employee }))
        .Allow(Db, Direction.Ingress, L4Protocol.Any, 9000, 9100, IdentitySet.Create(new[] { Stranger }))
        .Allow(Db, Direction.Ingress, L4Protocol.Udp, 0, 0, IdentitySet.Create(new[] { Employee }))
        .Allow(Db, Direction.Ingress, L4Protocol.Tcp, 8080, 0, IdentitySet.All)
        .SetDefaultDeny(Employee, Direction.Egress)
        .Build(revision: 42);

    // description, endpoint, direction, protocol, port, peer, expected
    public static TheoryData<string, uint, Direction, byte, ushort, uint, bool> Cases => new()
    {
        { "listed peer on its port", Db, Direction.Ingress, Tcp, 6379, Employee, true },
        { "other peer on that port", Db, Direction.Ingress, Tcp, 6379, Stranger, false },
        { "listed peer, other port", Db, Direction.Ingress, Tcp, 6380, Employee, false },
        { "listed peer, other protocol falls to the UDP wildcard", Db, Direction.Ingress, Udp, 6379, Employee, true },
        { "UDP wildcard port does not cover TCP", Db, Direction.Ingress, Tcp, 53, Employee, false },
        { "range low end, ANY → TCP", Db, Direction.Ingress, Tcp, 9000, Stranger, true },
        { "range high end, ANY → UDP", Db, Direction.Ingress, Udp, 9100, Stranger, true },
        { "just past the range", Db, Direction.Ingress, Tcp, 9101, Stranger, false },
        { "all peers on 8080 includes world", Db, Direction.Ingress, Tcp, 8080, World, true },
        { "egress of db is not enforced", Db, Direction.Egress, Tcp, 1, World, true },
        { "default deny with no allow", Employee, Direction.Egress, Tcp, 6379, Db, false },
        { "ingress of employee is not enforced", Employee, Direction.Ingress, Tcp, 22, Stranger, true },
        { "unknown endpoint is not enforced", 999_999, Direction.Ingress, Tcp, 22, Stranger, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Verdicts_follow_the_compiled_rules(string description, uint endpoint, Direction dir, byte proto, ushort port, uint peer, bool expected)
    {
        var v = Build();
        Assert.True(expected == v.IsAllowed(endpoint, dir, proto, port, peer), description);
        Assert.Equal(42, v.Revision);
    }

    [Fact]
    public void Build_is_independent_of_the_order_rules_were_added()
    {
        var a = new PolicyVerdictsBuilder()
            .Allow(Db, Direction.Ingress, L4Protocol.Tcp, 80, 0, IdentitySet.Create(new[] { Employee }))
            .Allow(Db, Direction.Ingress, L4Protocol.Tcp, 80, 0, IdentitySet.Create(new[] { Stranger })).Build(1);
        var b = new PolicyVerdictsBuilder()
            .Allow(Db, Direction.Ingress, L4Protocol.Tcp, 80, 0, IdentitySet.Create(new[] { Stranger }))
            .Allow(Db, Direction.Ingress, L4Protocol.Tcp, 80, 0, IdentitySet.Create(new[] { Employee })).Build(1);
        foreach (uint peer in new[] { Employee, Stranger, World })
            Assert.Equal(a.IsAllowed(Db, Direction.Ingress, Tcp, 80, peer), b.IsAllowed(Db, Direction.Ingress, Tcp, 80, peer));
        Assert.True(a.IsAllowed(Db, Direction.Ingress, Tcp, 80, Stranger)); // allows add up
    }

    [Fact]
    public void Verdict_lookups_allocate_nothing()
    {
        var v = Build();
        int allowed = 0;
        for (int i = 0; i < 10_000; i++)
            if (v.IsAllowed(Db, Direction.Ingress, Tcp, (ushort)(9000 + (i & 255)), (uint)i)) allowed++;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000_000; i++)
            if (v.IsAllowed(Db, Direction.Ingress, Tcp, (ushort)(6379 + (i & 4095)), Employee + (uint)(i & 1))) allowed++;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(allowed > 0);
    }
}
