using System.Collections.Immutable;
using System.Text.Json;
using FastPath.Addressing;
using FastPath.ControlPlane.Mesh;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>
/// Parses and validates the values of SPEC §4 for one watched cluster. Pure functions: the
/// watcher decides what a rejection does (log once, count, keep the last good value).
/// </summary>
internal static class KvstoreParsers
{
    /// <summary>Reserved identities (SPEC §6) a remote ipcache entry may carry.</summary>
    public const uint HostIdentity = 1;
    public const uint RemoteNodeIdentity = 6;

    private const string ClusterLabelKey = "io.cilium.k8s.policy.cluster";

    public static ClusterConfig ParseClusterConfig(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        if (!root.TryGetUInt("id", out uint id))
            throw new FormatException("missing numeric \"id\"");
        bool canaries = false, cached = false;
        int max = IdentityRange.DefaultMaxConnectedClusters;
        if (root.TryGet("capabilities", out JsonElement caps))
        {
            canaries = caps.GetBool("syncedCanaries", false);
            cached = caps.GetBool("cached", false);
            if (caps.TryGetUInt("maxConnectedClusters", out uint m) && m != 0)
                max = (int)m;
        }
        return new ClusterConfig(id, canaries, max, cached);
    }

    /// <summary><c>cilium/state/services/v1/&lt;cluster&gt;/&lt;ns&gt;/&lt;name&gt;</c>; <paramref name="keySuffix"/> is "ns/name".</summary>
    public static ParseResult<ClusterService> ParseService(string keySuffix, string json, string cluster, uint clusterId)
    {
        int slash = keySuffix.IndexOf('/');
        if (slash <= 0 || slash == keySuffix.Length - 1 || keySuffix.IndexOf('/', slash + 1) >= 0)
            return ParseResult<ClusterService>.Reject(RejectReason.MalformedKey, "expected <namespace>/<name> after the cluster");
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            string? contentCluster = root.GetString("cluster");
            if (contentCluster != cluster)
                return ParseResult<ClusterService>.Reject(RejectReason.ClusterMismatch, $"\"cluster\" is \"{contentCluster}\", expected \"{cluster}\"");
            string ns = root.GetString("namespace") ?? "";
            string name = root.GetString("name") ?? "";
            if (keySuffix != $"{ns}/{name}")
                return ParseResult<ClusterService>.Reject(RejectReason.KeyMismatch, $"content names {ns}/{name}, key names {keySuffix}");
            if (!root.TryGetUInt("clusterID", out uint id) || id != clusterId)
                return ParseResult<ClusterService>.Reject(RejectReason.ClusterIdMismatch, $"\"clusterID\" is not {clusterId}");
            // Absent "shared" is read as shared: exporters that predate the field only exported shared services.
            if (!root.GetBool("shared", true))
                return ParseResult<ClusterService>.Delete();
            if (!TryParsePortMap(root, "frontends", out var frontends, out string? error)
                || !TryParsePortMap(root, "backends", out var backends, out error))
                return ParseResult<ClusterService>.Reject(RejectReason.MalformedValue, error!);
            return ParseResult<ClusterService>.Ok(new ClusterService(cluster, ns, name, id, true,
                root.GetBool("includeExternal", false), frontends, backends,
                StringMap(root, "labels"), StringMap(root, "selector")));
        }
        catch (JsonException e)
        {
            return ParseResult<ClusterService>.Reject(RejectReason.MalformedJson, e.Message);
        }
    }

    /// <summary><c>cilium/state/nodes/v1/&lt;cluster&gt;/&lt;node&gt;</c>; <paramref name="keySuffix"/> is the node name.</summary>
    public static ParseResult<ClusterNode> ParseNode(string keySuffix, string json, string cluster, uint clusterId)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            string name = root.GetString("Name") ?? "";
            string nodeCluster = root.GetString("Cluster") ?? "";
            if (nodeCluster != cluster)
                return ParseResult<ClusterNode>.Reject(RejectReason.ClusterMismatch, $"\"Cluster\" is \"{nodeCluster}\", expected \"{cluster}\"");
            if (name != keySuffix)
                return ParseResult<ClusterNode>.Reject(RejectReason.KeyMismatch, $"content names node {name}, key names {keySuffix}");
            if (root.TryGetUInt("ClusterID", out uint id) && clusterId != 0 && id != clusterId)
                return ParseResult<ClusterNode>.Reject(RejectReason.ClusterIdMismatch, $"\"ClusterID\" is {id}, expected {clusterId}");
            var addresses = ImmutableArray.CreateBuilder<NodeAddress>();
            if (root.TryGet("IPAddresses", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement a in list.EnumerateArray())
                {
                    if (!NetAddress.TryParse(a.GetString("IP"), out NetAddress ip))
                        return ParseResult<ClusterNode>.Reject(RejectReason.MalformedValue, $"node address \"{a.GetString("IP")}\" is not an IP");
                    addresses.Add(new NodeAddress(a.GetString("Type") ?? "", ip));
                }
            }
            return ParseResult<ClusterNode>.Ok(new ClusterNode(cluster, name, id, addresses.ToImmutable(),
                Cidr(root, "IPv4AllocCIDR"), Cidr(root, "IPv6AllocCIDR")));
        }
        catch (JsonException e)
        {
            return ParseResult<ClusterNode>.Reject(RejectReason.MalformedJson, e.Message);
        }
    }

    /// <summary><c>cilium/state/identities/v1/id/&lt;id&gt;</c>: labels "source:key=value;…".</summary>
    public static ParseResult<IdentityEntry> ParseIdentity(string keySuffix, string value, string cluster, uint clusterId,
        int maxConnectedClusters)
    {
        if (!uint.TryParse(keySuffix, out uint id) || id == 0 || id > 0xFFFFFF)
            return ParseResult<IdentityEntry>.Reject(RejectReason.MalformedKey, "identity id must be a number in 1..16777215");
        if (clusterId != 0 && !IdentityRange.Contains(id, clusterId, maxConnectedClusters))
        {
            (uint first, uint last) = IdentityRange.ForCluster(clusterId, maxConnectedClusters);
            return ParseResult<IdentityEntry>.Reject(RejectReason.IdentityOutOfRange, $"identity {id} outside {first}..{last} of cluster id {clusterId}");
        }
        var labels = ImmutableArray.CreateBuilder<string>();
        foreach (string part in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.IndexOf(':') <= 0)
                return ParseResult<IdentityEntry>.Reject(RejectReason.MalformedValue, $"label \"{part}\" lacks a source prefix");
            labels.Add(part);
        }
        labels.Sort(StringComparer.Ordinal);
        var entry = new IdentityEntry(id, cluster, labels.ToImmutable());
        string? labelCluster = entry.LabelValue(ClusterLabelKey);
        if (labelCluster != cluster)
            return ParseResult<IdentityEntry>.Reject(RejectReason.IdentityClusterLabel,
                $"{ClusterLabelKey} is \"{labelCluster ?? "(missing)"}\", expected \"{cluster}\"");
        return ParseResult<IdentityEntry>.Ok(entry);
    }

    /// <summary><c>cilium/state/ip/v1/default/&lt;ip&gt;[/&lt;len&gt;]</c>. Remote host identity reads as remote-node.</summary>
    public static ParseResult<IpCacheEntry> ParseIpCache(string keySuffix, string json, string cluster, bool remote)
    {
        string ipText = keySuffix;
        byte? length = null;
        int slash = keySuffix.IndexOf('/');
        if (slash >= 0)
        {
            ipText = keySuffix[..slash];
            if (!byte.TryParse(keySuffix[(slash + 1)..], out byte len))
                return ParseResult<IpCacheEntry>.Reject(RejectReason.MalformedKey, "prefix length is not a number");
            length = len;
        }
        if (!NetAddress.TryParse(ipText, out NetAddress address))
            return ParseResult<IpCacheEntry>.Reject(RejectReason.MalformedKey, $"\"{ipText}\" is not an IP");
        byte max = address.IsV4 ? (byte)32 : (byte)128;
        if (length > max)
            return ParseResult<IpCacheEntry>.Reject(RejectReason.MalformedKey, $"prefix length {length} > {max}");
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            if (!root.TryGetUInt("ID", out uint identity))
                return ParseResult<IpCacheEntry>.Reject(RejectReason.MalformedValue, "missing numeric \"ID\"");
            if (remote && identity == HostIdentity)
                identity = RemoteNodeIdentity;
            NetAddress host = NetAddress.TryParse(root.GetString("HostIP"), out NetAddress h) ? h : NetAddress.None;
            return ParseResult<IpCacheEntry>.Ok(new IpCacheEntry(address, length ?? max, identity, host,
                root.GetString("K8sNamespace") ?? "", root.GetString("K8sPodName") ?? "", cluster));
        }
        catch (JsonException e)
        {
            return ParseResult<IpCacheEntry>.Reject(RejectReason.MalformedJson, e.Message);
        }
    }

    private static bool TryParsePortMap(JsonElement root, string field,
        out ImmutableDictionary<NetAddress, ImmutableArray<ClusterServicePort>> map, out string? error)
    {
        map = ImmutableDictionary<NetAddress, ImmutableArray<ClusterServicePort>>.Empty;
        error = null;
        if (!root.TryGet(field, out JsonElement obj) || obj.ValueKind == JsonValueKind.Null)
            return true;
        if (obj.ValueKind != JsonValueKind.Object)
        {
            error = $"\"{field}\" must be an object of ip → ports";
            return false;
        }
        var builder = ImmutableDictionary.CreateBuilder<NetAddress, ImmutableArray<ClusterServicePort>>();
        foreach (JsonProperty ipEntry in obj.EnumerateObject())
        {
            if (!NetAddress.TryParse(ipEntry.Name, out NetAddress ip))
            {
                error = $"\"{field}\" key \"{ipEntry.Name}\" is not an IP";
                return false;
            }
            var ports = ImmutableArray.CreateBuilder<ClusterServicePort>();
            if (ipEntry.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty port in ipEntry.Value.EnumerateObject())
                {
                    if (!L4ProtocolNames.TryParse(port.Value.GetString("Protocol"), out L4Protocol protocol)
                        || !port.Value.TryGetUInt("Port", out uint number) || number > ushort.MaxValue)
                    {
                        error = $"\"{field}\" {ipEntry.Name} port \"{port.Name}\" needs Protocol TCP/UDP/SCTP/ANY and Port 0..65535";
                        return false;
                    }
                    ports.Add(new ClusterServicePort(port.Name, protocol, (ushort)number));
                }
            }
            // Port order must not depend on JSON order: sort by name so snapshots compare equal.
            ports.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            builder[ip] = ports.ToImmutable();
        }
        map = builder.ToImmutable();
        return true;
    }

    private static ImmutableDictionary<string, string> StringMap(JsonElement root, string field)
    {
        if (!root.TryGet(field, out JsonElement obj) || obj.ValueKind != JsonValueKind.Object)
            return ImmutableDictionary<string, string>.Empty;
        var builder = ImmutableDictionary.CreateBuilder<string, string>();
        foreach (JsonProperty p in obj.EnumerateObject())
            builder[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return builder.ToImmutable();
    }

    /// <summary>Go's net.IPNet as JSON: {"IP":"10.0.0.0","Mask":"//8AAA=="} (mask base64) → "10.0.0.0/16".</summary>
    private static string? Cidr(JsonElement root, string field)
    {
        if (!root.TryGet(field, out JsonElement obj) || obj.ValueKind != JsonValueKind.Object)
            return null;
        string? ip = obj.GetString("IP");
        string? mask = obj.GetString("Mask");
        if (ip is null || mask is null)
            return null;
        try
        {
            int bits = 0;
            foreach (byte b in Convert.FromBase64String(mask))
                bits += System.Numerics.BitOperations.PopCount(b);
            return $"{ip}/{bits}";
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
