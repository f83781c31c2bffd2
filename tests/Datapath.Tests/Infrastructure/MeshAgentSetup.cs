using System.Net;
using FastPath.ControlPlane.Tests.Etcd;
using FastPath.ControlPlane.Tests.Kvstore;

namespace Datapath.Tests.Infrastructure;

/// <summary>A local pod identity published in the local cluster's kvstore, with the addresses it holds (ipcache).</summary>
internal sealed record MeshIdentity(uint Id, string LabelValue, params IPAddress[] Addresses);

/// <summary>
/// What a <see cref="MeshAgentSetup"/> builds. Backends 0..RemoteBackends-1 are the remote cluster's pods
/// ("{Remote}-i"), the next LocalBackends the local cluster's ("{Local}-i").
/// </summary>
internal sealed record MeshAgentOptions
{
    /// <summary>Names this run's temp dir (fp-{Prefix}-{id}) and etcds ({Prefix}-hk-{id}, {Prefix}-tk-{id}).</summary>
    public string Prefix { get; init; } = "cm";
    public string Local { get; init; } = "tokyo";
    public string Remote { get; init; } = "hk";
    public string Service { get; init; } = "bookstore";
    /// <summary>The label key of identities and of the exported service's selector ("app" in seed 000, "name" in seed 001).</summary>
    public string LabelKey { get; init; } = "app";
    public int RemoteBackends { get; init; } = 2;
    public int LocalBackends { get; init; } = 1;
    /// <summary>When set, the remote etcd also holds this identity for the remote backends, with their ipcache entries.</summary>
    public uint? RemoteIdentity { get; init; }
    /// <summary>When non-empty, a local kvstore etcd holds these identities (and ipcache entries); the agent gets --kvstore-config.</summary>
    public IReadOnlyList<MeshIdentity> LocalIdentities { get; init; } = [];
    /// <summary>More addresses on the client pod's eth0, routed back by the node (a second client identity).</summary>
    public IReadOnlyList<IPAddress> ExtraClientAddresses { get; init; } = [];
    /// <summary>Files written into the manifests directory before the agent starts: file name → text.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Manifests { get; init; } = [];
    public IReadOnlyList<string> ExtraAgentArgs { get; init; } = [];
}

/// <summary>
/// The real agent in mesh mode against a remote cluster whose etcd (mTLS) runs INSIDE the node netns,
/// because there 127.0.0.1 is the netns's own loopback, the one the agent dials:
/// <code>
///   client netns ──veth──► node netns: agent (local, id 1) ──127.0.0.1 (mTLS)──► etcd remote (id 2) [+ etcd local kvstore]
///   10.244.1.10                 │ XDP on c{id}, b{id}+
///                               ├──veth──► backend 0.. 10.244.2.1.. "{remote}-i"  exported by the remote under
///                               │                                                 cilium/state/services/v1/{remote}/default/{service}
///                               └──veth──► backend R.. "{local}-i"                (local EndpointSlices, when written)
/// </code>
/// The remote etcd holds cluster-config, the service export (shared, Cilium's JSON) and optionally the
/// remote identity + ipcache. The agent watches <see cref="Manifests"/>; the constructor returns once
/// it logs every remote cluster ready. Dispose removes everything, also when the constructor fails.
/// </summary>
internal sealed class MeshAgentSetup : IDisposable
{
    public const uint LocalClusterId = 1, RemoteClusterId = 2;
    /// <summary>The host IP written into ipcache entries (Cilium's HostIP; unused by forwarding here).</summary>
    private const string HostIp = "10.244.0.1";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<PodServers> _servers = new();

    public ServiceTopology Topology { get; }
    public EtcdServer Remote { get; } = null!;
    public EtcdServer? LocalKvstore { get; }
    public AgentProcess Agent { get; } = null!;
    public string Root { get; }
    public string Manifests => Path.Combine(Root, "manifests");

    public MeshAgentSetup(MeshAgentOptions options)
    {
        Topology = ServiceTopology.Create(options.RemoteBackends + options.LocalBackends);
        Root = Path.Combine(Path.GetTempPath(), $"fp-{options.Prefix}-{Topology.Id}");
        try
        {
            string meshDir = Path.Combine(Root, "clustermesh");
            Directory.CreateDirectory(Manifests);
            Directory.CreateDirectory(meshDir);
            for (int i = 0; i < Topology.Backends.Count; i++)
            {
                string pod = i < options.RemoteBackends ? $"{options.Remote}-{i}" : $"{options.Local}-{i - options.RemoteBackends}";
                _servers.Add(PodServers.Start(Topology.Backends[i], pod));
            }
            foreach (var address in options.ExtraClientAddresses)
            {
                Topology.Client.Exec("ip", "addr", "add", $"{address}/32", "dev", "eth0");
                Topology.Node.Exec("ip", "route", "add", $"{address}/32", "dev", Topology.ClientLink);
            }

            var agentArgs = new List<string> { "--cluster-name", options.Local, "--cluster-id", $"{LocalClusterId}",
                "--k8s-manifests", Manifests };
            if (options.LocalIdentities.Count > 0)
            {
                LocalKvstore = new EtcdServer($"{options.Prefix}-tk-{Topology.Id}", netns: Topology.Node.Name);
                foreach (var identity in options.LocalIdentities)
                    PutIdentity(LocalKvstore, identity.Id, options.Local, options.LabelKey, identity.LabelValue, identity.Addresses);
                agentArgs.AddRange(["--kvstore-config", LocalKvstore.WriteClientConfig(Path.Combine(Root, "kvstore.yaml"))]);
            }

            Remote = new EtcdServer($"{options.Prefix}-hk-{Topology.Id}", netns: Topology.Node.Name);
            var remotePods = Enumerable.Range(0, options.RemoteBackends).Select(ServiceTopology.BackendAddress).ToArray();
            Remote.Etcdctl("put", CiliumKeys.ClusterConfigKey(options.Remote), CiliumKeys.ClusterConfig(RemoteClusterId));
            Remote.Etcdctl("put", CiliumKeys.ServiceKey(options.Remote, "default", options.Service),
                Seed000Objects.ClusterService(options.Remote, RemoteClusterId, shared: true, PodServers.TcpPort,
                    remotePods.Select(ip => ip.ToString()), options.Service, options.LabelKey));
            if (options.RemoteIdentity is { } remoteIdentity)
                PutIdentity(Remote, remoteIdentity, options.Remote, options.LabelKey, options.Service, remotePods);
            Remote.WriteClientConfig(Path.Combine(meshDir, options.Remote));
            agentArgs.AddRange(["--clustermesh-config", meshDir]);

            foreach (var (name, text) in options.Manifests)
                File.WriteAllText(Path.Combine(Manifests, name), text);
            agentArgs.AddRange(["--devices", Topology.AgentDevices, "--xdp-mode", "native",
                "--bpf-pin-dir", $"/sys/fs/bpf/fastpath-{Topology.Id}", .. options.ExtraAgentArgs]);
            Agent = AgentProcess.Start(Topology.Node, [.. agentArgs]);
            Agent.WaitForLog("ClusterMesh: 1/1 remote clusters ready", ReadyTimeout);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Replaces a manifest by a rename, so the agent's watcher never reads half a file.</summary>
    public void WriteManifest(string name, string text) => AtomicFile.Replace(Path.Combine(Manifests, name), text);

    public void DeleteManifest(string name) => File.Delete(Path.Combine(Manifests, name));

    /// <summary>One identity and the ipcache entries of its addresses (pod names "pod-{ip}").</summary>
    private static void PutIdentity(EtcdServer etcd, uint id, string cluster, string labelKey, string labelValue, IEnumerable<IPAddress> addresses)
    {
        etcd.Etcdctl("put", CiliumKeys.IdentityKey(id), CiliumKeys.IdentityValue(cluster, labelValue, labelKey: labelKey));
        foreach (var ip in addresses)
            etcd.Etcdctl("put", CiliumKeys.IpKey(ip.ToString()), CiliumKeys.IpCache(ip.ToString(), id, HostIp, $"pod-{ip}"));
    }

    public void Dispose()
    {
        Agent?.Dispose();
        Remote?.Dispose();
        LocalKvstore?.Dispose();
        foreach (var server in _servers)
            server.Dispose();
        Topology.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
