using System.Net;

namespace FastPath.Demo;

/// <summary>
/// tokyo's Kubernetes objects, as the files the agent watches (--k8s-manifests): the global Service
/// bookstore, its EndpointSlice (tokyo's pods) and seed 000's CiliumNetworkPolicy. Every write is a
/// rename, so the watcher never reads half a file.
/// </summary>
internal sealed class TokyoManifests(string directory)
{
    private string ServiceFile => Path.Combine(directory, "bookstore-service.yaml");
    private string SliceFile => Path.Combine(directory, "bookstore-slice.yaml");
    private string PolicyFile => Path.Combine(directory, "allow-netshoot-to-tokyo.yaml");

    public string Directory => directory;

    /// <summary>bookstore, global; affinity none|local|remote (null: no annotation).</summary>
    public void WriteService(string? affinity) => Write(ServiceFile, $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: bookstore
          namespace: default
          annotations:
            service.cilium.io/global: "true"
        {(affinity is null ? "" : $"    service.cilium.io/affinity: {affinity}\n")}spec:
          clusterIP: {Topology.Vip}
          clusterIPs:
          - {Topology.Vip}
          ports:
          - port: {Topology.VipPort}
            protocol: TCP
            targetPort: {Topology.PodPort}
          type: ClusterIP

        """);

    public void WriteSlice(IReadOnlyList<IPAddress> pods)
    {
        string endpoints = string.Concat(pods.Select(ip => $"- addresses:\n  - {ip}\n  conditions:\n    ready: true\n"));
        Write(SliceFile, $"""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            addressType: IPv4
            metadata:
              name: bookstore-tokyo
              namespace: default
              labels:
                kubernetes.io/service-name: bookstore
            ports:
            - port: {Topology.PodPort}
              protocol: TCP
            endpoints:

            """ + endpoints);
    }

    public void DeleteSlice() => File.Delete(SliceFile);

    /// <summary>Seed 000's last policy: netshoot may reach bookstore in tokyo only (its DNS rule is left out:
    /// the demo resolves nothing).</summary>
    public void WritePolicy() => Write(PolicyFile, $"""
        apiVersion: "cilium.io/v2"
        kind: CiliumNetworkPolicy
        metadata:
          name: allow-netshoot-to-tokyo
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: netshoot
          egress:
          - toEndpoints:
            - matchLabels:
                app: bookstore
                io.cilium.k8s.policy.cluster: {Topology.Tokyo}

        """);

    private static void Write(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
