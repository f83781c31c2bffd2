namespace FastPath.ControlPlane.Static;

// The YAML shape of `--services FILE` (standalone mode: no Kubernetes, no etcd). Example:
//
//   services:
//     - namespace: default
//       name: echo
//       vip: 10.96.0.10
//       ports:
//         - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
//       backends:
//         - { address: 10.244.2.1 }
//         - { address: 10.244.2.2, weight: 200, cluster: hk }
//
// Unknown fields are errors (a typo must not silently change forwarding).

internal sealed class StaticServicesDocument
{
    public List<StaticServiceEntry>? Services { get; set; }
}

internal sealed class StaticServiceEntry
{
    public string? Namespace { get; set; }
    public string? Name { get; set; }
    public string? Vip { get; set; }
    public List<StaticPortEntry>? Ports { get; set; }
    public List<StaticBackendEntry>? Backends { get; set; }
}

internal sealed class StaticPortEntry
{
    public string? Name { get; set; }
    public string? Protocol { get; set; }
    public int? Port { get; set; }
    public int? TargetPort { get; set; }
}

internal sealed class StaticBackendEntry
{
    public string? Address { get; set; }
    public int? Port { get; set; }
    public int? Weight { get; set; }
    public string? Cluster { get; set; }
}
