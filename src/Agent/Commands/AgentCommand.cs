using System.CommandLine;
using FastPath.ControlPlane;

namespace FastPath.Agent.Commands;

/// <summary>`fastpath agent`: the per-node agent. Flags mirror cilium-agent's where one exists (SPEC §2).</summary>
internal static class AgentCommand
{
    private const int EBUSY = 16;
    private const int EEXIST = 17;

    public static Command Create()
    {
        var clusterName = new Option<string>("--cluster-name") { Description = "Name of the local cluster (lowercase DNS label, <= 32 chars).", DefaultValueFactory = _ => "default" };
        var clusterId = new Option<int>("--cluster-id") { Description = "Id of the local cluster (0 standalone; 1-255, or 1-511 with --max-connected-clusters 511).", DefaultValueFactory = _ => 0 };
        var devices = new Option<string>("--devices") { Description = "Interfaces to attach XDP to, comma separated; a trailing '+' is a prefix wildcard (e.g. lxc+,eth0).", Required = true };
        var services = new Option<string?>("--services") { Description = "Standalone mode: a YAML file of services (VIP, ports, backends, weights). No policy: CiliumNetworkPolicy needs --k8s-manifests." };
        var xdpMode = new Option<string>("--xdp-mode") { Description = "native, generic or auto (native, falling back to generic with a warning).", DefaultValueFactory = _ => "auto" };
        var xskBindMode = new Option<string>("--xsk-bind-mode") { Description = "AF_XDP bind mode: copy, zerocopy or auto.", DefaultValueFactory = _ => "auto" };
        var tableSize = new Option<int>("--bpf-lb-maglev-table-size") { Description = "Maglev table size per frontend (a prime: 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071).", DefaultValueFactory = _ => 16381 };
        var hashSeed = new Option<string>("--bpf-lb-maglev-hash-seed") { Description = "Maglev hash seed: base64 of 12 bytes.", DefaultValueFactory = _ => "JLfvgnHc2kaSUFaI" };
        var ctMax = new Option<int>("--bpf-ct-global-max") { Description = "Connection-tracking capacity in entries (two per flow; rounded up to a power of two).", DefaultValueFactory = _ => 1 << 18 };
        var pinDir = new Option<string>("--bpf-pin-dir") { Description = "bpffs directory the agent pins its maps under.", DefaultValueFactory = _ => "/sys/fs/bpf/fastpath" };
        var bpfObject = new Option<string?>("--bpf-object") { Description = "Path of fp_steer.bpf.o (default: next to the fastpath binary)." };
        var k8sManifests = new Option<string?>("--k8s-manifests") { Description = "Mesh mode: a directory of Service, EndpointSlice and CiliumNetworkPolicy YAML files (watched). Excludes --services." };
        var k8sKubeconfig = new Option<string?>(FastPath.ControlPlane.Kubernetes.Api.ApiServerSource.KubeconfigFlag) { Description = "Mesh mode: watch Services, EndpointSlices and Cilium policies on the API server named by this kubeconfig (current-context). Excludes --k8s-manifests, --k8s-in-cluster and --services." };
        var k8sInCluster = new Option<bool>(FastPath.ControlPlane.Kubernetes.Api.ApiServerSource.InClusterFlag) { Description = "Mesh mode: watch the API server with the pod's service account (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount). Excludes --k8s-manifests, --k8s-kubeconfig and --services." };
        var kvstoreConfig = new Option<string?>("--kvstore-config") { Description = "The local cluster's etcd client YAML (endpoints, trusted-ca-file, cert-file, key-file): identities, ipcache, nodes." };
        var clusterMeshConfig = new Option<string?>("--clustermesh-config") { Description = "A directory with one etcd client YAML per remote cluster, file name = cluster name (watched)." };
        var statsAddress = new Option<string>("--stats-address") { Description = "ip:port of the stats endpoint (/healthz, /metrics, /v1/...). Binding 0.0.0.0 or :: exposes it to the network.", DefaultValueFactory = _ => Stats.StatsServer.DefaultAddress };
        var policyAware = new Option<bool>(MeshSources.PolicyAwareSelectionFlag) { Description = "Policy (mesh mode, needs a Kubernetes source for CiliumNetworkPolicies): Maglev picks only among backends the client's policy allows, instead of dropping a forbidden pick (off, as in Cilium)." };
        var policyLocal = new Option<bool>(MeshSources.PolicyDefaultLocalClusterFlag) { Description = "Policy (mesh mode, needs a Kubernetes source for CiliumNetworkPolicies): selectors without io.cilium.k8s.policy.cluster match only the local cluster (off: every cluster)." };
        var maxClusters = new Option<int>("--max-connected-clusters") { Description = "255 or 511: bounds cluster ids and the identity bit layout.", DefaultValueFactory = _ => 255 };
        var configDir = new Option<string?>(ConfigDirectory.Flag) { Description = "A directory with one file per flag (a mounted ConfigMap: file name = flag without '--', content = value). The command line wins." };
        var validateConfig = new Option<bool>("--validate-config") { Description = "Check every flag and every file the flags name, print \"config ok\" and exit 0 (2 on an error) without attaching anything." };

        var command = new Command("agent", "Run the per-node agent: attach XDP, forward service traffic, follow the configured sources.")
        {
            clusterName, clusterId, devices, services, xdpMode, xskBindMode, tableSize, hashSeed, ctMax, pinDir, bpfObject,
            k8sManifests, kvstoreConfig, clusterMeshConfig, maxClusters, policyAware, policyLocal, statsAddress,
            k8sKubeconfig, k8sInCluster, configDir, validateConfig,
        };
        command.SetAction(parse =>
        {
            AgentOptions options;
            System.Net.IPEndPoint stats;
            try
            {
                stats = Stats.StatsServer.ParseAddress(parse.GetValue(statsAddress)!);
                options = AgentOptions.Validate(new AgentFlags(
                    parse.GetValue(clusterName)!, parse.GetValue(clusterId), parse.GetValue(devices)!,
                    parse.GetValue(services), parse.GetValue(xdpMode)!, parse.GetValue(xskBindMode)!,
                    parse.GetValue(tableSize), parse.GetValue(hashSeed)!, parse.GetValue(ctMax),
                    parse.GetValue(pinDir)!, parse.GetValue(bpfObject),
                    parse.GetValue(k8sManifests), parse.GetValue(kvstoreConfig), parse.GetValue(clusterMeshConfig),
                    parse.GetValue(maxClusters), parse.GetValue(policyAware), parse.GetValue(policyLocal),
                    parse.GetValue(k8sKubeconfig), parse.GetValue(k8sInCluster)));
            }
            catch (Exception e) when (e is AgentOptionException or ConfigFileException)
            {
                Console.Error.WriteLine($"fastpath agent: {e.Message}");
                return 2;
            }
            if (parse.GetValue(validateConfig))
            {
                Console.Out.WriteLine(ConfigSummary.Describe(options, stats));
                return 0;
            }
            try
            {
                return AgentHost.Run(options, stats);
            }
            catch (FastPath.Native.NativeException e)
            {
                Console.Error.WriteLine($"fastpath agent: {e.Message}");
                if (e.Errno is EBUSY or EEXIST)
                    Console.Error.WriteLine("fastpath agent: another XDP program is attached to a device (see `ip -d link`; FastPath never " +
                        $"replaces one), or another agent runs with --bpf-pin-dir {options.PinDirectory}");
                return 1;
            }
        });
        return command;
    }
}
