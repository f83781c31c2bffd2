using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;

namespace FastPath.ControlPlane.Mesh;

/// <summary>
/// What this cluster would publish under <c>cilium/state/services/v1/&lt;cluster&gt;/&lt;ns&gt;/&lt;name&gt;</c>
/// (SPEC §4): one <see cref="ClusterService"/> per local service that is global and shared. Non-shared
/// services are absent (the exporter deletes their key). Backends are the ready endpoints, with every
/// port their EndpointSlices list, keyed by port name as Cilium does.
/// </summary>
public static class LocalServiceExport
{
    public static ImmutableArray<ClusterService> Build(string clusterName, uint clusterId, KubernetesObjects local)
    {
        var result = ImmutableArray.CreateBuilder<ClusterService>();
        foreach (var service in local.Services
                     .Where(s => s.Global && s.Shared)
                     .OrderBy(s => s.Name.Namespace, StringComparer.Ordinal)
                     .ThenBy(s => s.Name.Name, StringComparer.Ordinal))
        {
            var frontendPorts = service.Ports
                .Select(p => new ClusterServicePort(p.Name, p.Protocol, p.Port))
                .ToImmutableArray();
            var frontends = service.ClusterIPs.ToImmutableDictionary(ip => ip, _ => frontendPorts);

            var backends = new Dictionary<NetAddress, List<ClusterServicePort>>();
            foreach (var slice in local.SlicesOf(service.Name))
            {
                foreach (var endpoint in slice.Endpoints.Where(e => e.Ready))
                {
                    foreach (var address in endpoint.Addresses)
                    {
                        if (!backends.TryGetValue(address, out var ports))
                            backends[address] = ports = [];
                        foreach (var port in slice.Ports.Where(p => p.Port != 0))
                        {
                            if (!ports.Any(p => p.Name == port.Name && p.Protocol == port.Protocol))
                                ports.Add(new ClusterServicePort(port.Name, port.Protocol, port.Port));
                        }
                    }
                }
            }

            result.Add(new ClusterService(
                clusterName, service.Name.Namespace, service.Name.Name, clusterId,
                Shared: true, IncludeExternal: true,
                frontends,
                backends.ToImmutableDictionary(b => b.Key, b => b.Value.OrderBy(p => p.Name, StringComparer.Ordinal).ToImmutableArray()),
                service.Labels.ToImmutableDictionary(),
                service.Selector.ToImmutableDictionary()));
        }
        return result.ToImmutable();
    }
}
