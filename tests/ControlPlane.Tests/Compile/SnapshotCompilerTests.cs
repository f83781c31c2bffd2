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
