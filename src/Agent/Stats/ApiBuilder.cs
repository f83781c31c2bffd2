using FastPath.Addressing;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Model;

namespace FastPath.Agent.Stats;

/// <summary>Builds the /v1 documents from the agent's state; every call is a fresh, consistent-enough read.</summary>
internal static class ApiBuilder
{
    public static IReadOnlyList<ServiceDoc> Services(StatsSources sources)
    {
        DesiredState state = sources.CurrentDesiredState();
        var snapshot = sources.Datapath.Snapshots.Current;
        var docs = new List<ServiceDoc>(state.Frontends.Length);
        foreach (DesiredFrontend f in state.Frontends)
        {
            // The stable frontend id the snapshot compiler assigned (also the id /v1/traffic and the
            // workers count by); 0 for a frontend the fast path does not forward or has not published yet.
            int id = (int)(snapshot.FindFrontend(f.Address, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(f.Port),
                (byte)f.Protocol)?.Id ?? 0);
            var selected = new HashSet<BackendSpec>(f.Backends);
            var all = f.AllBackends.IsDefaultOrEmpty ? f.Backends : f.AllBackends;
            var backends = new List<BackendDoc>(all.Length);
            int n = 0;
            foreach (BackendSpec b in all)
                backends.Add(new BackendDoc(++n, b.ToString(), b.Cluster, b.State.ToString().ToLowerInvariant(),
                    selected.Contains(b), b.Weight, b.PodName));
            docs.Add(new ServiceDoc(id, f.ToString(), f.Service.Namespace, f.Service.Name, "ClusterIP", f.Global, f.Shared,
                f.Affinity.ToString().ToLowerInvariant(), backends));
        }
        return docs;
    }

    public static ClusterMeshDoc ClusterMesh(StatsSources sources)
    {
        var health = HealthCheck.Evaluate(sources);
        if (sources.Mesh is not { } mesh)
            return new ClusterMeshDoc(sources.ClusterName, sources.ClusterId, "standalone", 0, 0, 0,
                sources.Datapath.Snapshots.Current.Revision, null, [], new Dictionary<string, string>(), health.Healthy, health.Reason);
        var status = mesh.Status;
        return new ClusterMeshDoc(sources.ClusterName, sources.ClusterId, "mesh", status.ReadyRemotes, status.TotalRemotes,
            status.GlobalServices, status.Revision, status.Local is { } local ? Cluster(local) : null,
            [.. status.Remotes.Select(Cluster)], status.ConfigErrors, health.Healthy, health.Reason);
    }

    private static ClusterDoc Cluster(ClusterStatus s) => new(
        s.Name, s.ClusterId, s.Endpoint, s.Ready, s.Connected, s.ConfigRetrieved, s.SyncedCanaries,
        new SyncDoc(s.Synced.Nodes, s.Synced.Endpoints, s.Synced.Identities, s.Synced.Services),
        s.NumNodes, s.NumEndpoints, s.NumIdentities, s.NumServices, s.NumFailures, s.LastFailure, s.LastError);

    public static IReadOnlyList<NodeDoc> Nodes(StatsSources sources)
    {
        if (sources.Mesh is not { } mesh)
            return [];
        var docs = new List<NodeDoc>();
        foreach (var state in mesh.ClusterStates)
            foreach (var node in state.Nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal))
                docs.Add(new NodeDoc(node.Cluster, node.Name, [.. node.Addresses.Select(a => $"{a.Type}:{a.Ip}")], node.IPv4AllocCidr));
        return docs;
    }

    public static IReadOnlyList<IdentityDoc> Identities(StatsSources sources)
    {
        if (sources.Mesh is not { } mesh)
            return [];
        var docs = new List<IdentityDoc>();
        foreach (var state in mesh.ClusterStates)
            foreach (var identity in state.Identities.Values.OrderBy(i => i.Id))
                docs.Add(new IdentityDoc(identity.Id, identity.Cluster, identity.Labels));
        return docs;
    }

    public static PolicyDoc Policy(StatsSources sources)
    {
        var snapshot = sources.Datapath.Snapshots.Current;
        var files = sources.Mesh is { } mesh
            ? mesh.KubernetesObjects.Policies.Select(p => new PolicyFileDoc(p.Kind, p.Namespace, p.Name, p.Source.ToString())).ToList()
            : [];
        return new PolicyDoc(snapshot.PolicyRevision, snapshot.Policy.EnforcedCount, snapshot.PolicyAwareSelection, files);
    }

    /// <summary>Formats ip:port with brackets for IPv6.</summary>
    public static string HostPort(in NetAddress address, int port) =>
        address.IsV4 ? $"{address}:{port}" : $"[{address}]:{port}";
}
