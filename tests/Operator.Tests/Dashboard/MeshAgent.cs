using Datapath.Tests.Infrastructure;

namespace Operator.Tests.Dashboard;

/// <summary>
/// A real agent in mesh mode with backends in two clusters (Datapath.Tests' <see cref="MeshAgentSetup"/>,
/// seed 000's shape as in PolicyForwardingTests). Two etcds run inside the node netns (where the agent's
/// 127.0.0.1 is): tokyo's kvstore (<c>--kvstore-config</c>) and hk's (<c>--clustermesh-config</c>):
/// <code>
///   client netns  eth0 10.244.1.10 netshoot ──veth──► node netns: agent (tokyo, id 1), etcd tokyo + etcd hk, stats 127.0.0.1:9962
///                                                       ├──► backend 0 10.244.2.1 "hk-0"    bookstore@hk    ┐ hk's etcd exports them
///                                                       ├──► backend 1 10.244.2.2 "hk-1"    bookstore@hk    ┘
///                                                       ├──► backend 2 10.244.2.3 "tokyo-0" bookstore@tokyo ┐ local EndpointSlice
///                                                       └──► backend 3 10.244.2.4 "tokyo-1" bookstore@tokyo ┘
///   VIP 10.96.0.10:80 = global Service default/bookstore (affinity none) → 8080
/// </code>
/// The policy file starts allowing netshoot → bookstore in every cluster; <see cref="RestrictToLocalCluster"/>
/// replaces it (the agent watches the manifests directory).
/// </summary>
internal sealed class MeshAgent : IDisposable
{
    public const string Local = "tokyo";
    public const string Remote = "hk";
    private const string PolicyFile = "policy.yaml";
    private const string PolicyName = "allow-netshoot-to-bookstore";
    private const uint Netshoot = (1u << 16) + 7, TokyoBookstore = (1u << 16) + 8, HkBookstore = (2u << 16) + 9;

    private readonly MeshAgentSetup _setup;

    public ServiceTopology Topology => _setup.Topology;
    public AgentProcess? Agent => _setup.Agent;
    public string Root => _setup.Root;

    public MeshAgent()
    {
        string[] tokyoPods = [ServiceTopology.BackendAddress(2).ToString(), ServiceTopology.BackendAddress(3).ToString()];
        _setup = new MeshAgentSetup(new MeshAgentOptions
        {
            Prefix = "dash",
            Local = Local,
            Remote = Remote,
            RemoteBackends = 2,
            LocalBackends = 2,
            RemoteIdentity = HkBookstore,
            LocalIdentities =
            [
                new(Netshoot, "netshoot", ServiceTopology.ClientAddress),
                new(TokyoBookstore, "bookstore", ServiceTopology.BackendAddress(2), ServiceTopology.BackendAddress(3)),
            ],
            Manifests =
            [
                new("services.yaml", Seed000Objects.GlobalService(ServiceTopology.Vip.ToString(), 80, PodServers.TcpPort) + "---\n" +
                    Seed000Objects.EndpointSlice("bookstore-local", PodServers.TcpPort, tokyoPods)),
                new(PolicyFile, Seed000Objects.NetshootToBookstore(PolicyName, cluster: null)),
            ],
        });
    }

    /// <summary>Seed 000's policy: netshoot may reach bookstore in tokyo only, so the flows Maglev
    /// places on hk's backends are dropped with policy_denied (egress).</summary>
    public void RestrictToLocalCluster() => _setup.WriteManifest(PolicyFile, Seed000Objects.NetshootToBookstore(PolicyName, Local));

    public void Dispose() => _setup.Dispose();
}
