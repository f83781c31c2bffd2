namespace FastPath.ControlPlane.Tests.Integration;

/// <summary>
/// Seed 000 as files and etcd values: tokyo's global <c>bookstore</c> Service (ClusterIP
/// 10.104.65.103, one unnamed TCP port 8080) and Cilium's exact cluster-service JSON (SPEC §4) with
/// the unnamed port "" the Service's port joins by name.
/// </summary>
internal static class MeshManifests
{
    public const string ClusterIp = "10.104.65.103";
    public const int Port = 8080;

    public static string BookstoreService(string? affinity = null) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          annotations:
            service.cilium.io/global: "true"
        {(affinity is null ? "" : $"    service.cilium.io/affinity: {affinity}\n")}  name: bookstore
          namespace: default
        spec:
          clusterIP: {ClusterIp}
          clusterIPs:
          - {ClusterIp}
          ports:
          - port: {Port}
            protocol: TCP
            targetPort: {Port}
          type: ClusterIP

        """;

    public static string BookstoreSlice(params string[] addresses) => $"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        addressType: IPv4
        metadata:
          labels:
            kubernetes.io/service-name: bookstore
          name: bookstore-abcde
          namespace: default
        endpoints:
        {string.Concat(addresses.Select(a => $"- addresses:\n  - {a}\n  conditions:\n    ready: true\n"))}ports:
        - port: {Port}
          protocol: TCP

        """;

    /// <summary>cilium/state/services/v1/&lt;cluster&gt;/default/bookstore as Cilium writes it.</summary>
    public static string ClusterService(string cluster, uint clusterId, bool shared, params string[] backends) =>
        $"{{\"cluster\":\"{cluster}\",\"namespace\":\"default\",\"name\":\"bookstore\"," +
        $"\"frontends\":{{\"{ClusterIp}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":{Port}}}}}}}," +
        $"\"backends\":{{{string.Join(",", backends.Select(b => $"\"{b}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":{Port}}}}}"))}}}," +
        $"\"labels\":{{}},\"selector\":{{\"app\":\"bookstore\"}},\"includeExternal\":true," +
        $"\"shared\":{(shared ? "true" : "false")},\"clusterID\":{clusterId}}}";
}
