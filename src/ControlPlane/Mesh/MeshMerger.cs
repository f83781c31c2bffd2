using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Mesh;

/// <summary>
/// Local Kubernetes objects + remote clusters' exported services → the desired frontends (SPEC §5).
/// <code>
///   KubernetesObjects ─┐ (Services → frontends; EndpointSlices → local backends)
///                      ├─ MeshMerger.Merge ─→ DesiredState ─→ compiler (Maglev, maps)
///   ClusterState[] ────┘ (global services only: shared remote entries → remote backends)
/// </code>
/// Pure and deterministic: equal inputs give equal output, in a fixed order.
/// </summary>
public static class MeshMerger
{
    public static DesiredState Merge(
        string localClusterName, KubernetesObjects local, IReadOnlyCollection<ClusterState> remotes, long revision)
    {
        ArgumentException.ThrowIfNullOrEmpty(localClusterName);

        var slicesByService = new Dictionary<ServiceName, List<LocalEndpointSlice>>();
        foreach (var slice in local.EndpointSlices)
        {
            var key = new ServiceName(slice.Namespace, slice.ServiceName);
            if (!slicesByService.TryGetValue(key, out var list))
                slicesByService[key] = list = [];
            list.Add(slice);
        }

        // The local cluster never counts as its own remote, even if its state was read like one.
        var remoteClusters = remotes
            .Where(r => r.Name != localClusterName)
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .ToArray();

        var frontends = new List<DesiredFrontend>();
        var taken = new HashSet<(NetAddress, ushort, L4Protocol)>();
        foreach (var service in local.Services.OrderBy(s => s.Name.Namespace, StringComparer.Ordinal)
                     .ThenBy(s => s.Name.Name, StringComparer.Ordinal))
        {
            var slices = slicesByService.TryGetValue(service.Name, out var found) ? found : [];
            foreach (var clusterIP in service.ClusterIPs)
            {
                foreach (var port in service.Ports)
                {
                    // Kubernetes forbids two services on one ip:port/proto; if manifests do it anyway the
                    // service whose name sorts first keeps the frontend, so the outcome is deterministic.
                    if (!taken.Add((clusterIP, port.Port, port.Protocol)))
                        continue;
                    var all = Backends(localClusterName, service, clusterIP, port, slices, remoteClusters);
                    frontends.Add(new DesiredFrontend(
                        service.Name, clusterIP, port.Port, port.Protocol, port.Name,
                        AffinitySelector.Select(all, service.Affinity, localClusterName),
                        all,
                        service.Global, service.Shared, service.Affinity));
                }
            }
        }
        frontends.Sort(MeshOrder.Frontends);
        return new DesiredState(revision, [.. frontends]);
    }

    /// <summary>Number of local services annotated global (SPEC §10.8 status).</summary>
    public static int CountGlobalServices(KubernetesObjects local) => local.GlobalServiceCount;

    private static ImmutableArray<BackendSpec> Backends(
        string localClusterName, LocalService service, NetAddress clusterIP, LocalServicePort port,
        List<LocalEndpointSlice> slices, ClusterState[] remotes)
    {
        // Keyed by ip:port/proto/cluster; the same endpoint may sit in two slices while they are
        // being rebalanced, and then the better state wins.
        var backends = new Dictionary<(NetAddress, ushort, L4Protocol, string), BackendSpec>();

        foreach (var slice in slices)
        {
            // targetPort is resolved by Kubernetes into the slice port of the same name.
            var slicePort = slice.Ports.FirstOrDefault(p => p.Name == port.Name && p.Protocol == port.Protocol && p.Port != 0);
            if (slicePort is null)
                continue;
            foreach (var endpoint in slice.Endpoints)
            {
                BackendState state;
                if (endpoint.Ready)
                    state = BackendState.Active;
                else if (endpoint.Serving && endpoint.Terminating)
                    state = BackendState.Terminating;
                else
                    continue;
                foreach (var address in endpoint.Addresses)
                {
                    // A frontend only balances to its own address family (no NAT46/64).
                    if (address.IsV4 != clusterIP.IsV4)
                        continue;
                    var key = (address, slicePort.Port, port.Protocol, localClusterName);
                    if (backends.TryGetValue(key, out var existing) && existing.State == BackendState.Active)
                        continue;
                    backends[key] = new BackendSpec(address, slicePort.Port, port.Protocol, localClusterName,
                        State: state, PodName: endpoint.PodName);
                }
            }
        }

        if (service.Global)
        {
            string serviceKey = $"{service.Name.Namespace}/{service.Name.Name}";
            foreach (var remote in remotes)
            {
                // A shared=false entry is the exporter withdrawing it: treat it as absent.
                if (!remote.Services.TryGetValue(serviceKey, out var exported) || !exported.Shared)
                    continue;
                foreach (var (address, ports) in exported.Backends)
                {
                    if (address.IsV4 != clusterIP.IsV4)
                        continue;
                    foreach (var remotePort in ports)
                    {
                        // Join by port name (and protocol); a differently named remote port serves something else.
                        if (remotePort.Name != port.Name || remotePort.Protocol != port.Protocol || remotePort.Port == 0)
                            continue;
                        backends.TryAdd((address, remotePort.Port, port.Protocol, remote.Name),
                            new BackendSpec(address, remotePort.Port, port.Protocol, remote.Name));
                    }
                }
            }
        }

        var sorted = backends.Values.ToArray();
        Array.Sort(sorted, MeshOrder.Backends);
        return [.. sorted];
    }
}
