using System.Text.RegularExpressions;
using FastPath.ControlPlane;
using FastPath.ControlPlane.Kvstore;
using FastPath.Maglev;
using FastPath.Native;
using FastPath.Xsk;

namespace FastPath.Agent;

/// <summary>The flags as typed, before validation.</summary>
internal sealed record AgentFlags(
    string ClusterName, int ClusterId, string Devices, string? ServicesFile, string XdpMode, string XskBindMode,
    int MaglevTableSize, string MaglevHashSeed, int CtCapacity, string PinDirectory, string? BpfObject,
    string? K8sManifests = null, string? KvstoreConfig = null, string? ClusterMeshConfig = null,
    int MaxConnectedClusters = IdentityRange.DefaultMaxConnectedClusters,
    bool PolicyAwareSelection = false, bool PolicyDefaultLocalCluster = false,
    string? K8sKubeconfig = null, bool K8sInCluster = false);

/// <summary>A flag whose value cannot be used; the message names the flag and the allowed values.</summary>
internal sealed class AgentOptionException(string message) : Exception(message);

/// <summary>Validated agent configuration: every value here has been checked once, at start-up.</summary>
/// <param name="ServicesFile">Standalone mode (<c>--services</c>); null in mesh mode.</param>
/// <param name="Mesh">Mesh mode's sources (<c>--k8s-manifests</c> / <c>--k8s-kubeconfig</c> / <c>--k8s-in-cluster</c>, <c>--kvstore-config</c>,
/// <c>--clustermesh-config</c>); null in standalone mode.</param>
internal sealed partial record AgentOptions(
    string ClusterName,
    int ClusterId,
    IReadOnlyList<string> DevicePatterns,
    string? ServicesFile,
    MeshSources? Mesh,
    XdpMode XdpMode,
    XskBindMode XskBindMode,
    MaglevParameters Maglev,
    int CtCapacity,
    string PinDirectory,
    string BpfObject)
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    public static AgentOptions Validate(AgentFlags flags)
    {
        if (flags.ClusterName.Length is 0 or > 32 || !DnsLabel().IsMatch(flags.ClusterName))
            throw new AgentOptionException($"--cluster-name '{flags.ClusterName}': expected a lowercase DNS label of at most 32 characters");
        if (!IdentityRange.IsValidMaxConnectedClusters(flags.MaxConnectedClusters))
            throw new AgentOptionException($"--max-connected-clusters {flags.MaxConnectedClusters}: expected 255 or 511");
        if (flags.ClusterId < 0 || flags.ClusterId > flags.MaxConnectedClusters)
            throw new AgentOptionException($"--cluster-id {flags.ClusterId}: expected 0 (standalone) or 1-{flags.MaxConnectedClusters} " +
                $"(--max-connected-clusters {flags.MaxConnectedClusters}; 1-511 needs --max-connected-clusters 511)");
        MeshSources? mesh = MeshSources.Validate(flags);

        var patterns = flags.Devices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (patterns.Length == 0)
            throw new AgentOptionException("--devices: expected at least one interface name or prefix (e.g. lxc+,eth0)");
        foreach (var pattern in patterns)
        {
            string name = pattern.TrimEnd('+');
            if (name.Length is 0 or > 15 || name.Contains('/') || pattern.IndexOf('+') is >= 0 and var plus && plus != pattern.Length - 1)
                throw new AgentOptionException($"--devices: '{pattern}' is not an interface name (<= 15 chars) or a prefix ending in '+'");
        }

        if (flags.ServicesFile is { } file && !File.Exists(file))
            throw new AgentOptionException($"--services {file}: no such file");

        var xdpMode = flags.XdpMode.ToLowerInvariant() switch
        {
            "native" => XdpMode.Native,
            "generic" => XdpMode.Generic,
            "auto" => XdpMode.Auto,
            _ => throw new AgentOptionException($"--xdp-mode '{flags.XdpMode}': expected native, generic or auto"),
        };
        var bindMode = flags.XskBindMode.ToLowerInvariant() switch
        {
            "copy" => XskBindMode.Copy,
            "zerocopy" => XskBindMode.ZeroCopy,
            "auto" => XskBindMode.Default,
            _ => throw new AgentOptionException($"--xsk-bind-mode '{flags.XskBindMode}': expected copy, zerocopy or auto"),
        };

        MaglevParameters maglev;
        try
        {
            maglev = MaglevParameters.Create(flags.MaglevTableSize, flags.MaglevHashSeed);
        }
        catch (ArgumentException e)
        {
            throw new AgentOptionException(e.Message);
        }

        if (flags.CtCapacity is < 1024 or > (1 << 26))
            throw new AgentOptionException($"--bpf-ct-global-max {flags.CtCapacity}: expected 1024 to {1 << 26} entries");

        if (!flags.PinDirectory.StartsWith("/sys/fs/bpf/", StringComparison.Ordinal))
            throw new AgentOptionException($"--bpf-pin-dir '{flags.PinDirectory}': expected a directory under /sys/fs/bpf/");

        string bpfObject = flags.BpfObject ?? Path.Combine(AppContext.BaseDirectory, "fp_steer.bpf.o");
        if (!File.Exists(bpfObject))
            throw new AgentOptionException($"--bpf-object {bpfObject}: no such file (build it with ./build.sh build)");

        return new AgentOptions(flags.ClusterName, flags.ClusterId, patterns, flags.ServicesFile, mesh, xdpMode, bindMode,
            maglev, flags.CtCapacity, flags.PinDirectory, bpfObject);
    }
}
