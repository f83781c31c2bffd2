using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Mesh;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Tests;

/// <summary>
/// SPEC §5 merge, table-driven: each case is local objects (the "hk" cluster) + remote cluster states
/// → expected frontends, each rendered as
/// <c>ip:port/PROTO name=&lt;port&gt; -&gt; selected backends | all backends</c>, a backend as
/// <c>ip:port/PROTO@cluster</c> with <c>~</c> appended when terminating.
/// </summary>
public sealed class MergeTests
{
    private const string Local = "hk";

    // ---- builders -------------------------------------------------------------------------

    internal static LocalService Svc(
        string name, string clusterIP, string? global = null, string? shared = null, string? affinity = null,
        params (string Name, int Port, L4Protocol Protocol)[] ports)
    {
        var annotations = new Dictionary<string, string>();
        if (global is not null) annotations[ServiceAnnotations.Global] = global;
        if (shared is not null) annotations[ServiceAnnotations.Shared] = shared;
        if (affinity is not null) annotations[ServiceAnnotations.Affinity] = affinity;
        if (ports.Length == 0)
            ports = [("", 8080, L4Protocol.Tcp)];
        return new LocalService(
            new ServiceName("default", name),
            [.. clusterIP.Split(',').Select(NetAddress.Parse)],
            [.. ports.Select(p => new LocalServicePort(p.Name, p.Protocol, (ushort)p.Port, ""))],
            ServiceAnnotations.IsGlobal(annotations),
            ServiceAnnotations.IsShared(annotations),
            ServiceAnnotations.AffinityOf(annotations),
            annotations.ToImmutableSortedDictionary(),
            ImmutableSortedDictionary<string, string>.Empty,
            ImmutableSortedDictionary<string, string>.Empty,
            new ManifestLocation("test.yaml", 1));
    }

    /// <summary>Endpoint spec "ip" (ready), "ip~" (serving + terminating), "ip!" (terminating, not serving), "ip?" (not ready).</summary>
    internal static LocalEndpointSlice Slice(string service, string endpoints, params (string Name, int Port, L4Protocol Protocol)[] ports)
    {
        if (ports.Length == 0)
            ports = [("", 8080, L4Protocol.Tcp)];
        var list = endpoints.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(e =>
        {
            char mark = e[^1];
            string ip = char.IsAsciiLetterOrDigit(mark) ? e : e[..^1];
            return mark switch
            {
                '~' => new LocalEndpoint([NetAddress.Parse(ip)], Ready: false, Serving: true, Terminating: true),
                '!' => new LocalEndpoint([NetAddress.Parse(ip)], Ready: false, Serving: false, Terminating: true),
                '?' => new LocalEndpoint([NetAddress.Parse(ip)], Ready: false, Serving: false, Terminating: false),
                _ => new LocalEndpoint([NetAddress.Parse(ip)], Ready: true, Serving: true, Terminating: false),
            };
        });
        return new LocalEndpointSlice("default", $"{service}-{endpoints.Replace(' ', '-')}", service,
            [.. list], [.. ports.Select(p => new EndpointSlicePort(p.Name, p.Protocol, (ushort)p.Port))],
            new ManifestLocation("test.yaml", 2));
    }

    internal static KubernetesObjects Objects(LocalService[] services, params LocalEndpointSlice[] slices) =>
        new(1, [.. services], [.. slices], []);

    /// <summary>A remote cluster exporting services; backends as "ip" with the given ports.</summary>
    internal static ClusterState Remote(string cluster, uint id, params ClusterService[] services) =>
        new(cluster, id, services.ToImmutableDictionary(s => s.Key));

    internal static ClusterService Export(
        string cluster, string name, bool shared, string backends, params (string Name, int Port, L4Protocol Protocol)[] ports)
    {
        if (ports.Length == 0)
            ports = [("", 8080, L4Protocol.Tcp)];
        var portList = ports.Select(p => new ClusterServicePort(p.Name, p.Protocol, (ushort)p.Port)).ToImmutableArray();
        return new ClusterService(cluster, "default", name, 2, shared, IncludeExternal: true,
            ImmutableDictionary.Create<NetAddress, ImmutableArray<ClusterServicePort>>()
                .Add(NetAddress.Parse("10.99.0.1"), portList), // remote frontends: must never matter
            backends.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .ToImmutableDictionary(NetAddress.Parse, _ => portList),
            ImmutableDictionary<string, string>.Empty, ImmutableDictionary<string, string>.Empty);
    }

    internal static string Render(DesiredState state) => string.Join("\n", state.Frontends.Select(Render));

    internal static string Render(DesiredFrontend f) =>
        $"{f} name={f.PortName} -> {Render(f.Backends)} | {Render(f.AllBackends)}";

    private static string Render(ImmutableArray<BackendSpec> backends) =>
        string.Join(" ", backends.Select(b => $"{b}@{b.Cluster}{(b.State == BackendState.Terminating ? "~" : "")}"));

    // ---- the table ------------------------------------------------------------------------

    private static readonly (string Port, int Number, L4Protocol Protocol) Http = ("http", 80, L4Protocol.Tcp);
    private static readonly (string Port, int Number, L4Protocol Protocol) Metrics = ("metrics", 9090, L4Protocol.Tcp);

    public sealed record Case(string Name, KubernetesObjects Local, ClusterState[] Remotes, string Expected)
    {
        public override string ToString() => Name;
    }

    private static readonly Case[] Cases =
    [
        new("seed 000: global service with a ClusterIP and no endpoints reaches the remote backends",
            Objects([Svc("bookstore", "10.104.65.103", global: "true")], Slice("bookstore", "")),
            [Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41 10.244.2.209"))],
            "10.104.65.103:8080/TCP name= -> 10.244.2.41:8080/TCP@tokyo 10.244.2.209:8080/TCP@tokyo" +
            " | 10.244.2.41:8080/TCP@tokyo 10.244.2.209:8080/TCP@tokyo"),

        new("a non-global service ignores remote backends",
            Objects([Svc("bookstore", "10.104.65.103")], Slice("bookstore", "10.245.1.5")),
            [Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41"))],
            "10.104.65.103:8080/TCP name= -> 10.245.1.5:8080/TCP@hk | 10.245.1.5:8080/TCP@hk"),

        new("a remote entry with shared=false is treated as absent",
            Objects([Svc("bookstore", "10.104.65.103", global: "true")], Slice("bookstore", "10.245.1.5")),
            [Remote("tokyo", 2, Export("tokyo", "bookstore", false, "10.244.2.41"))],
            "10.104.65.103:8080/TCP name= -> 10.245.1.5:8080/TCP@hk | 10.245.1.5:8080/TCP@hk"),

        new("shared=false on the local service still uses local and remote backends",
            Objects([Svc("bookstore", "10.104.65.103", global: "true", shared: "false")], Slice("bookstore", "10.245.1.5")),
            [Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41"))],
            "10.104.65.103:8080/TCP name= -> 10.244.2.41:8080/TCP@tokyo 10.245.1.5:8080/TCP@hk" +
            " | 10.244.2.41:8080/TCP@tokyo 10.245.1.5:8080/TCP@hk"),

        new("a remote service of another name contributes nothing",
            Objects([Svc("bookstore", "10.104.65.103", global: "true")]),
            [Remote("tokyo", 2, Export("tokyo", "bookshop", true, "10.244.2.41"))],
            "10.104.65.103:8080/TCP name= ->  | "),

        new("affinity none spreads over every cluster's backends (seeds 000, 001, 003)",
            Objects([Svc("webpod", "10.2.164.148", global: "true", affinity: "none")], Slice("webpod", "10.0.1.14 10.0.1.162")),
            [Remote("east", 2, Export("east", "webpod", true, "10.1.1.2 10.1.1.221")), Remote("north", 3, Export("north", "webpod", true, "10.3.0.9"))],
            "10.2.164.148:8080/TCP name= -> 10.0.1.14:8080/TCP@hk 10.0.1.162:8080/TCP@hk 10.1.1.2:8080/TCP@east 10.1.1.221:8080/TCP@east 10.3.0.9:8080/TCP@north" +
            " | 10.0.1.14:8080/TCP@hk 10.0.1.162:8080/TCP@hk 10.1.1.2:8080/TCP@east 10.1.1.221:8080/TCP@east 10.3.0.9:8080/TCP@north"),

        new("affinity local prefers local active backends",
            Objects([Svc("webpod", "10.2.164.148", global: "true", affinity: "local")], Slice("webpod", "10.0.1.14")),
            [Remote("east", 2, Export("east", "webpod", true, "10.1.1.2"))],
            "10.2.164.148:8080/TCP name= -> 10.0.1.14:8080/TCP@hk | 10.0.1.14:8080/TCP@hk 10.1.1.2:8080/TCP@east"),

        new("affinity local falls back to remote while no local backend is active",
            Objects([Svc("webpod", "10.2.164.148", global: "true", affinity: "local")], Slice("webpod", "10.0.1.14?")),
            [Remote("east", 2, Export("east", "webpod", true, "10.1.1.2"))],
            "10.2.164.148:8080/TCP name= -> 10.1.1.2:8080/TCP@east | 10.1.1.2:8080/TCP@east"),

        new("affinity remote prefers remote active backends",
            Objects([Svc("webpod", "10.2.164.148", global: "true", affinity: "remote")], Slice("webpod", "10.0.1.14")),
            [Remote("east", 2, Export("east", "webpod", true, "10.1.1.2"))],
            "10.2.164.148:8080/TCP name= -> 10.1.1.2:8080/TCP@east | 10.0.1.14:8080/TCP@hk 10.1.1.2:8080/TCP@east"),

        new("affinity remote falls back to local when the remote cluster has no backends",
            Objects([Svc("webpod", "10.2.164.148", global: "true", affinity: "remote")], Slice("webpod", "10.0.1.14")),
            [Remote("east", 2, Export("east", "webpod", true, ""))],
            "10.2.164.148:8080/TCP name= -> 10.0.1.14:8080/TCP@hk | 10.0.1.14:8080/TCP@hk"),

        new("affinity on a non-global service means nothing",
            Objects([Svc("webpod", "10.2.164.148", affinity: "remote")], Slice("webpod", "10.0.1.14")),
            [Remote("east", 2, Export("east", "webpod", true, "10.1.1.2"))],
            "10.2.164.148:8080/TCP name= -> 10.0.1.14:8080/TCP@hk | 10.0.1.14:8080/TCP@hk"),

        new("remote ports join by name and protocol: a differently named or UDP port does not join",
            Objects([Svc("shop", "10.96.40.7", global: "true", ports: [Http, Metrics])],
                Slice("shop", "10.0.2.21", ("http", 8080, L4Protocol.Tcp), ("metrics", 9100, L4Protocol.Tcp))),
            [Remote("east", 2,
                Export("east", "shop", true, "10.1.2.31", ("web", 8080, L4Protocol.Tcp), ("metrics", 9101, L4Protocol.Tcp)),
                Export("east", "ignored", true, "10.1.2.99")),
             Remote("west", 3, Export("west", "shop", true, "10.3.2.41", ("http", 8080, L4Protocol.Udp)))],
            "10.96.40.7:80/TCP name=http -> 10.0.2.21:8080/TCP@hk | 10.0.2.21:8080/TCP@hk\n" +
            "10.96.40.7:9090/TCP name=metrics -> 10.0.2.21:9100/TCP@hk 10.1.2.31:9101/TCP@east" +
            " | 10.0.2.21:9100/TCP@hk 10.1.2.31:9101/TCP@east"),

        new("a local slice port named differently gives no backend (targetPort resolves by name)",
            Objects([Svc("shop", "10.96.40.7", ports: [Http])], Slice("shop", "10.0.2.21", ("web", 8080, L4Protocol.Tcp))),
            [],
            "10.96.40.7:80/TCP name=http ->  | "),

        new("serving terminating endpoints are used only when no ready backend remains",
            Objects([Svc("bookstore", "10.104.65.103")], Slice("bookstore", "10.245.1.5~ 10.245.1.6! 10.245.1.7?")),
            [],
            "10.104.65.103:8080/TCP name= -> 10.245.1.5:8080/TCP@hk~ | 10.245.1.5:8080/TCP@hk~"),

        new("a ready endpoint takes precedence over terminating ones",
            Objects([Svc("bookstore", "10.104.65.103")], Slice("bookstore", "10.245.1.5~ 10.245.1.8")),
            [],
            "10.104.65.103:8080/TCP name= -> 10.245.1.8:8080/TCP@hk | 10.245.1.5:8080/TCP@hk~ 10.245.1.8:8080/TCP@hk"),

        new("an active remote backend beats a local terminating one even with affinity local",
            Objects([Svc("bookstore", "10.104.65.103", global: "true", affinity: "local")], Slice("bookstore", "10.245.1.5~")),
            [Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41"))],
            "10.104.65.103:8080/TCP name= -> 10.244.2.41:8080/TCP@tokyo | 10.244.2.41:8080/TCP@tokyo 10.245.1.5:8080/TCP@hk~"),

        new("the same endpoint in two slices counts once, ready winning over terminating",
            Objects([Svc("bookstore", "10.104.65.103")], Slice("bookstore", "10.245.1.5~"), Slice("bookstore", "10.245.1.5 10.245.1.9")),
            [],
            "10.104.65.103:8080/TCP name= -> 10.245.1.5:8080/TCP@hk 10.245.1.9:8080/TCP@hk | 10.245.1.5:8080/TCP@hk 10.245.1.9:8080/TCP@hk"),

        new("a dual-stack service balances each frontend over its own address family only",
            Objects([Svc("bookstore", "10.104.65.103,fd00::65:103", global: "true")], Slice("bookstore", "10.245.1.5 fd00:245::5")),
            [Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41 fd00:244::41"))],
            "10.104.65.103:8080/TCP name= -> 10.244.2.41:8080/TCP@tokyo 10.245.1.5:8080/TCP@hk | 10.244.2.41:8080/TCP@tokyo 10.245.1.5:8080/TCP@hk\n" +
            "[fd00::65:103]:8080/TCP name= -> [fd00:244::41]:8080/TCP@tokyo [fd00:245::5]:8080/TCP@hk | [fd00:244::41]:8080/TCP@tokyo [fd00:245::5]:8080/TCP@hk"),

        new("the local cluster's own state among the remotes is not merged twice",
            Objects([Svc("bookstore", "10.104.65.103", global: "true")], Slice("bookstore", "10.245.1.5")),
            [Remote(Local, 1, Export(Local, "bookstore", true, "10.245.1.77"))],
            "10.104.65.103:8080/TCP name= -> 10.245.1.5:8080/TCP@hk | 10.245.1.5:8080/TCP@hk"),
    ];

    public static TheoryData<Case> AllCases() => new(Cases);

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Merge_gives_the_expected_frontends_and_backends(Case c)
    {
        var state = MeshMerger.Merge(Local, c.Local, c.Remotes, revision: 7);

        Assert.Equal(7, state.Revision);
        Assert.Equal(c.Expected, Render(state));
    }

    [Fact]
    public void Frontends_carry_the_services_interpreted_annotations()
    {
        var local = Objects([Svc("webpod", "10.2.164.148", global: "TRUE", shared: "False", affinity: "Local")]);

        var frontend = Assert.Single(MeshMerger.Merge(Local, local, [], 1).Frontends);

        Assert.Equal(new ServiceName("default", "webpod"), frontend.Service);
        Assert.Equal((true, false, ServiceAffinity.Local), (frontend.Global, frontend.Shared, frontend.Affinity));
    }

    [Fact]
    public void Services_without_a_virtual_ip_or_ports_get_no_frontend()
    {
        var headless = Svc("peers", "10.0.0.1") with { ClusterIPs = [] };
        var portless = Svc("empty", "10.96.0.9") with { Ports = [] };

        var state = MeshMerger.Merge(Local, Objects([headless, portless], Slice("peers", "10.245.1.5")), [], 1);

        Assert.Empty(state.Frontends);
    }

    [Fact]
    public void Global_services_are_counted()
    {
        var local = Objects([
            Svc("a", "10.96.0.1", global: "true"),
            Svc("b", "10.96.0.2", global: "false"),
            Svc("c", "10.96.0.3"),
            Svc("d", "10.96.0.4", global: "True", shared: "false"),
        ]);

        Assert.Equal(2, MeshMerger.CountGlobalServices(local));
    }
}
