using System.Text;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// Seed 000's objects (tokyo + hk, global Service <c>bookstore</c>, netshoot → bookstore policy) as the
/// text Kubernetes and Cilium hold them: the Service / EndpointSlice / CiliumNetworkPolicy YAML the agent
/// reads from <c>--k8s-manifests</c> and the cluster-service JSON a remote cluster exports (SPEC §4).
/// One place for the datapath, control-plane and operator tests and the demo (linked, not copied);
/// the other Cilium keys and values (identities, ipcache, cluster-config) are in CiliumKeys.
/// </summary>
internal static class Seed000Objects
{
    /// <summary>The ClusterIP bookstore has in seed 000 (hk exports it as its frontend; remote frontends are ignored).</summary>
    public const string BookstoreClusterIp = "10.104.65.103";

    /// <summary>A global Service (one unnamed TCP port); <paramref name="affinity"/> none|local|remote, null: no annotation.</summary>
    public static string GlobalService(string clusterIp, int port, int targetPort, string? affinity = null, string name = "bookstore") => $"""
        apiVersion: v1
        kind: Service
        metadata:
          annotations:
            service.cilium.io/global: "true"
        {(affinity is null ? "" : $"    service.cilium.io/affinity: {affinity}\n")}  name: {name}
          namespace: default
        spec:
          clusterIP: {clusterIp}
          clusterIPs:
          - {clusterIp}
          ports:
          - port: {port}
            protocol: TCP
            targetPort: {targetPort}
          type: ClusterIP

        """;

    /// <summary>An EndpointSlice of <paramref name="service"/> with every address ready, on <paramref name="port"/>/TCP
    /// (no addresses: an empty <c>endpoints:</c>).</summary>
    public static string EndpointSlice(string sliceName, int port, IEnumerable<string> addresses, string service = "bookstore")
    {
        var text = new StringBuilder($"""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            addressType: IPv4
            metadata:
              labels:
                kubernetes.io/service-name: {service}
              name: {sliceName}
              namespace: default
            endpoints:

            """);
        foreach (string address in addresses)
            text.Append($"- addresses:\n  - {address}\n  conditions:\n    ready: true\n");
        return text.Append($"ports:\n- port: {port}\n  protocol: TCP\n").ToString();
    }

    /// <summary>
    /// Seed 000's egress policy: netshoot may reach bookstore in <paramref name="cluster"/> (null: any
    /// cluster), on <paramref name="port"/>/<paramref name="protocol"/> only when a port is given.
    /// </summary>
    public static string NetshootToBookstore(string name, string? cluster, string? ns = null, int? port = null, string protocol = "TCP")
    {
        var text = new StringBuilder($"""
            apiVersion: "cilium.io/v2"
            kind: CiliumNetworkPolicy
            metadata:
              name: {name}

            """);
        if (ns is not null)
            text.Append($"  namespace: {ns}\n");
        text.Append("""
            spec:
              endpointSelector:
                matchLabels:
                  app: netshoot
              egress:
              - toEndpoints:
                - matchLabels:
                    app: bookstore

            """);
        if (cluster is not null)
            text.Append($"        io.cilium.k8s.policy.cluster: {cluster}\n");
        if (port is not null)
            text.Append($"    toPorts:\n    - ports:\n      - port: \"{port}\"\n        protocol: {protocol}\n");
        return text.ToString();
    }

    /// <summary>
    /// cilium/state/services/v1/&lt;cluster&gt;/default/&lt;service&gt; as Cilium writes it: every backend on
    /// <paramref name="port"/> with the unnamed port "" (the Service's unnamed port joins it by name).
    /// </summary>
    public static string ClusterService(string cluster, uint clusterId, bool shared, int port, IEnumerable<string> backends,
        string service = "bookstore", string selectorKey = "app") =>
        $"{{\"cluster\":\"{cluster}\",\"namespace\":\"default\",\"name\":\"{service}\"," +
        $"\"frontends\":{{\"{BookstoreClusterIp}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":{port}}}}}}}," +
        $"\"backends\":{{{string.Join(",", backends.Select(b => $"\"{b}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":{port}}}}}"))}}}," +
        $"\"labels\":{{}},\"selector\":{{\"{selectorKey}\":\"{service}\"}},\"includeExternal\":true," +
        $"\"shared\":{(shared ? "true" : "false")},\"clusterID\":{clusterId}}}";
}
