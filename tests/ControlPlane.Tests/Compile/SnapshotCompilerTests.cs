using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Compile;
using FastPath.ControlPlane.Model;
using FastPath.Maglev;

namespace FastPath.ControlPlane.Tests.Compile;

public class SnapshotCompilerTests
{
    private static readonly MaglevParameters Parameters = MaglevParameters.Create(251, MaglevParameters.DefaultSeedBase64);
    private static readonly ServiceName Web = new("default", "web");

    private static BackendSpec Backend(string ip, string cluster = "tokyo") =>
        new(NetAddress.Parse(ip), 8080, L4Protocol.Tcp, cluster);

    private static DesiredState State(long revision, BackendSpec[] selected, BackendSpec[]? all = null) =>
        new(revision, [new DesiredFrontend(Web, NetAddress.Parse("10.96.0.10"), 80, L4Protocol.Tcp, "http",
            [.. selected], [.. all ?? selected])]);

    private static Dictionary<string, uint> IdsByAddress(FastPath.Snapshot.ForwardingSnapshot snapshot)
    {
        var ids = new Dictionary<string, uint>();
        for (uint id = 1; id < (uint)snapshot.BackendIdLimit; id++)
        {
            var backend = snapshot.Backend(id);
            if (backend.Status == FastPath.Snapshot.BackendStatus.Active)
                ids[backend.Address.ToString()] = id;
        }
        return ids;
    }

    [Fact]
    public void A_backend_keeps_its_id_across_compiles_while_others_come_and_go()
    {
        var compiler = new SnapshotCompiler(Parameters, _ => 1);
        var first = IdsByAddress(compiler.Compile(State(1, [Backend("10.244.2.1"), Backend("10.244.2.2")])));
        var second = IdsByAddress(compiler.Compile(State(2, [Backend("10.244.2.2"), Backend("10.244.2.3")])));

        Assert.Equal(first["10.244.2.2"], second["10.244.2.2"]);
        Assert.DoesNotContain("10.244.2.1", second.Keys);
        Assert.DoesNotContain(0u, second.Values);
    }

    [Fact]
    public void A_frontend_keeps_its_id_across_compiles_when_others_are_added_before_it_or_removed()
    {
        var compiler = new SnapshotCompiler(Parameters, _ => 1);
        DesiredFrontend Frontend(string vip, ushort port) =>
            new(Web, NetAddress.Parse(vip), port, L4Protocol.Tcp, "http", [Backend("10.244.2.1")], [Backend("10.244.2.1")]);
        uint IdOf(FastPath.Snapshot.ForwardingSnapshot s, string vip, ushort port) =>
            s.Frontends.Single(f => f.Vip == NetAddress.Parse(vip) && f.PortRaw == System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(port)).Id;

        var first = compiler.Compile(new DesiredState(1, [Frontend("10.96.0.20", 80), Frontend("10.96.0.30", 80)]));
        var second = compiler.Compile(new DesiredState(2, [Frontend("10.96.0.30", 80)]));            // .30 moves to index 0
        var third = compiler.Compile(new DesiredState(3, [Frontend("10.96.0.10", 80), Frontend("10.96.0.30", 80)]));

        uint id = IdOf(first, "10.96.0.30", 80);
        Assert.Equal(0, second.Frontends.Single().Index);
        Assert.Equal(id, IdOf(second, "10.96.0.30", 80));
        Assert.Equal(id, IdOf(third, "10.96.0.30", 80));
        Assert.NotEqual(IdOf(third, "10.96.0.10", 80), id);
        Assert.DoesNotContain(0u, third.Frontends.Select(f => f.Id));
        Assert.True(third.FrontendIdLimit > third.Frontends.Max(f => f.Id));
    }

    [Fact]
    public void The_maglev_table_holds_only_the_selected_backends_and_equals_a_direct_build()
    {
        var compiler = new SnapshotCompiler(Parameters, cluster => cluster == "hk" ? (ushort)2 : (ushort)1);
        BackendSpec[] all = [Backend("10.244.2.1"), Backend("10.245.2.1", "hk"), Backend("10.245.2.2", "hk")];
        var snapshot = compiler.Compile(State(1, selected: [all[1], all[2]], all: all));

        var ids = IdsByAddress(snapshot);
        var table = snapshot.Frontends[0].Table.ToArray();
        Assert.Equal(new[] { ids["10.245.2.1"], ids["10.245.2.2"] }.Order(), table.Distinct().Order());
        Assert.Equal(2, snapshot.Backend(ids["10.245.2.1"]).ClusterId);
        Assert.Equal(1, snapshot.Backend(ids["10.244.2.1"]).ClusterId);

        var expected = MaglevTableBuilder.Build(
            [new MaglevBackend(ids["10.245.2.1"], all[1].Address, 8080, L4Protocol.Tcp),
             new MaglevBackend(ids["10.245.2.2"], all[2].Address, 8080, L4Protocol.Tcp)], Parameters);
        Assert.Equal(expected, table);
    }

    [Fact]
    public void A_frontend_without_backends_gets_an_empty_table_and_other_protocols_are_left_out_with_a_warning()
    {
        var warnings = new List<string>();
        var compiler = new SnapshotCompiler(Parameters, _ => 1, warnings.Add);
        var state = new DesiredState(3,
        [
            new DesiredFrontend(Web, NetAddress.Parse("10.96.0.10"), 80, L4Protocol.Tcp, "http", [], []),
            new DesiredFrontend(Web, NetAddress.Parse("10.96.0.10"), 9000, L4Protocol.Sctp, "sctp", [], []),
        ]);

        var snapshot = compiler.Compile(state);

        Assert.Single(snapshot.Frontends);
        Assert.Equal(0, snapshot.Frontends[0].TableSize);
        Assert.Contains(warnings, w => w.Contains("SCTP"));
    }
}

public class SnapshotCompilerCacheTests
{
    private static readonly MaglevParameters Parameters = MaglevParameters.Create(251, MaglevParameters.DefaultSeedBase64);

    private static DesiredFrontend Frontend(string name, string vip, params string[] backends) =>
        new(new ServiceName("default", name), NetAddress.Parse(vip), 80, L4Protocol.Tcp, "http",
            [.. backends.Select(b => new BackendSpec(NetAddress.Parse(b), 8080, L4Protocol.Tcp, "tokyo"))],
            [.. backends.Select(b => new BackendSpec(NetAddress.Parse(b), 8080, L4Protocol.Tcp, "tokyo"))]);

    [Fact]
    public void Only_frontends_whose_backend_set_changed_rebuild_their_table()
    {
        var compiler = new SnapshotCompiler(Parameters, _ => 1);
        var a = Frontend("a", "10.96.0.1", "10.244.2.1", "10.244.2.2");
        var b = Frontend("b", "10.96.0.2", "10.244.3.1", "10.244.3.2");
        var first = compiler.Compile(new DesiredState(1, [a, b]));
        Assert.Equal(2, compiler.MaglevBuilds);

        var b2 = Frontend("b", "10.96.0.2", "10.244.3.1", "10.244.3.2", "10.244.3.3");
        var second = compiler.Compile(new DesiredState(2, [a, b2]));

        Assert.Equal(3, compiler.MaglevBuilds);
        Assert.Equal(first.Frontends[0].Table.ToArray(), second.Frontends[0].Table.ToArray());
        Assert.Contains(second.Frontends[1].Table.ToArray().Distinct(), id => second.Backend(id).Address == NetAddress.Parse("10.244.3.3"));
    }

    [Fact]
    public void Frontends_with_the_same_backends_share_one_build()
    {
        var compiler = new SnapshotCompiler(Parameters, _ => 1);
        compiler.Compile(new DesiredState(1,
        [
            Frontend("a", "10.96.0.1", "10.244.2.1", "10.244.2.2"),
            Frontend("b", "10.96.0.2", "10.244.2.2", "10.244.2.1"),
        ]));
        Assert.Equal(1, compiler.MaglevBuilds);
    }
}
