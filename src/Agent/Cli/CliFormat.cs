using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FastPath.Agent.Stats;

namespace FastPath.Agent.Cli;

/// <summary>
/// Turns /v1 documents (and /metrics) into the text the CLI prints, in the shapes operators know from
/// <c>cilium status</c>, <c>cilium service list --clustermesh-affinity</c>, <c>cilium-dbg metrics list</c>
/// and <c>hubble observe</c>.
/// Pure functions: the tests feed them documents and compare lines.
/// </summary>
internal static class CliFormat
{
    public static string Status(ClusterMeshDoc mesh, bool verbose, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append("FastPath: ").Append(mesh.Healthy ? "OK" : "Degraded").Append(mesh.Healthy && mesh.Health == "ok" ? "" : $" ({mesh.Health})").Append('\n');
        sb.Append("Cluster: ").Append(mesh.LocalCluster).Append(" (id ").Append(mesh.LocalClusterId).Append("), ")
          .Append(mesh.Mode).Append(" mode, snapshot revision ").Append(mesh.Revision).Append('\n');
        if (mesh.Mode != "mesh")
        {
            sb.Append("ClusterMesh: disabled\n");
            return sb.ToString();
        }
        if (mesh.Local is { } local)
            sb.Append("KVStore: ").Append(local.Ready ? "Ok" : "Not ready").Append(' ').Append(local.Endpoint)
              .Append(local.LastError is { } le && !local.Ready ? $" ({le})" : "").Append('\n');
        sb.Append("ClusterMesh: ").Append(mesh.ReadyRemotes).Append('/').Append(mesh.TotalRemotes)
          .Append(" remote clusters ready, ").Append(mesh.GlobalServices).Append(" global-services\n");
        foreach (var c in mesh.Remotes)
        {
            sb.Append("   ").Append(ClusterLine(c, now)).Append('\n');
            if (!verbose)
                continue;
            sb.Append("   └  etcd: ").Append(c.Connected ? "1/1" : "0/1").Append(" connected, endpoint ").Append(c.Endpoint)
              .Append(c.Connected || c.LastError is null ? "" : $": {c.LastError}").Append('\n');
            sb.Append("   └  remote configuration: expected=true, retrieved=").Append(Bool(c.ConfigRetrieved))
              .Append(", cluster-id=").Append(c.ClusterId).Append(", sync-canaries=").Append(Bool(c.SyncCanaries)).Append('\n');
            sb.Append("   └  synchronization status: nodes=").Append(Bool(c.Synced.Nodes)).Append(", endpoints=").Append(Bool(c.Synced.Endpoints))
              .Append(", identities=").Append(Bool(c.Synced.Identities)).Append(", services=").Append(Bool(c.Synced.Services)).Append('\n');
        }
        foreach (var (cluster, error) in mesh.ConfigErrors.OrderBy(p => p.Key, StringComparer.Ordinal))
            sb.Append("   ").Append(cluster).Append(": config error: ").Append(error).Append('\n');
        return sb.ToString();
    }

    /// <summary>"hk: ready, 2 nodes, 4 endpoints, 3 identities, 1 services, 0 failures (last: never)".</summary>
    public static string ClusterLine(ClusterDoc c, DateTimeOffset now) =>
        $"{c.Cluster}: {(c.Ready ? "ready" : "not-ready")}, {c.Nodes} nodes, {c.Endpoints} endpoints, {c.Identities} identities, " +
        $"{c.Services} services, {c.Failures} failures (last: {Ago(c.LastFailure, now)})";

    public static string Ago(DateTimeOffset? when, DateTimeOffset now)
    {
        if (when is not { } t)
            return "never";
        var age = now - t;
        if (age < TimeSpan.Zero)
            age = TimeSpan.Zero;
        return age.TotalSeconds < 60 ? $"{(int)age.TotalSeconds}s ago"
            : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes}m ago"
            : $"{(int)age.TotalHours}h ago";
    }

    private static string Bool(bool b) => b ? "true" : "false";

    /// <summary>
    /// <c>ID  Frontend  Service Type  Backend</c>, one backend per line inside the cell:
    /// "1 => 10.1.1.2:80/TCP (active) (preferred)"; "(preferred)" only with --clustermesh-affinity
    /// and only for backends in the affinity-selected set of a service with affinity local/remote.
    /// </summary>
    public static string ServiceList(IReadOnlyList<ServiceDoc> services, bool clusterMeshAffinity)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var s in services)
        {
            var backends = new StringBuilder();
            foreach (var b in s.Backends)
            {
                if (backends.Length > 0)
                    backends.Append('\n');
                backends.Append(b.Id).Append(" => ").Append(b.Backend).Append(" (").Append(b.State).Append(')');
                if (clusterMeshAffinity && b.Preferred && s.Affinity != "none")
                    backends.Append(" (preferred)");
            }
            rows.Add([s.Id.ToString(CultureInfo.InvariantCulture), s.Frontend, s.Type, backends.ToString()]);
        }
        return TableText.Render(["ID", "Frontend", "Service Type", "Backend"], rows);
    }

    public static string NodeList(IReadOnlyList<NodeDoc> nodes) =>
        TableText.Render(["Cluster", "Name", "Addresses", "IPv4 alloc CIDR"],
            nodes.Select(n => (IReadOnlyList<string>)[n.Cluster, n.Name, string.Join(", ", n.Addresses), n.Ipv4AllocCidr ?? ""]));

    public static string IdentityList(IReadOnlyList<IdentityDoc> identities) =>
        TableText.Render(["ID", "Cluster", "Labels"],
            identities.Select(i => (IReadOnlyList<string>)[i.Identity.ToString(CultureInfo.InvariantCulture), i.Cluster, string.Join("\n", i.Labels)]));

    public static string Policy(PolicyDoc policy)
    {
        var sb = new StringBuilder();
        sb.Append("Policy revision: ").Append(policy.PolicyRevision).Append('\n');
        sb.Append("Enforced endpoints: ").Append(policy.EnforcedEndpoints).Append('\n');
        sb.Append("Policy-aware backend selection: ").Append(policy.PolicyAwareSelection ? "enabled" : "disabled").Append('\n');
        if (policy.Policies.Count == 0)
            return sb.Append("No policies loaded\n").ToString();
        sb.Append(TableText.Render(["Kind", "Namespace", "Name", "Source"],
            policy.Policies.Select(p => (IReadOnlyList<string>)[p.Kind, p.Namespace ?? "", p.Name, p.Source])));
        return sb.ToString();
    }

    /// <summary>
    /// One hubble-observe style line:
    /// "Jan 02 15:04:05.000: default/client:43210 (tokyo) -> default/web-hk:8080 (hk) service default/web FORWARDED (TCP)".
    /// The destination is the backend when one was chosen, else the address the packet was sent to.
    /// </summary>
    public static string FlowLine(FlowDoc f)
    {
        var sb = new StringBuilder();
        sb.Append(f.Time.ToLocalTime().ToString("MMM dd HH:mm:ss.fff", CultureInfo.InvariantCulture)).Append(": ");
        sb.Append(Endpoint(f.Source)).Append(" -> ").Append(Endpoint(f.Backend ?? f.Destination));
        if (f.Service is { } service)
            sb.Append(" service ").Append(service);
        sb.Append(' ').Append(f.Verdict).Append(" (").Append(f.Protocol);
        if (f.DropReason is { } reason)
            sb.Append(", ").Append(reason).Append(f.PolicyDirection is { } dir ? $" {dir}" : "");
        sb.Append(')');
        return sb.ToString();
    }

    private static string Endpoint(EndpointDoc e)
    {
        string host = e.Pod is { } pod ? $"{e.Namespace}/{pod}" : e.Ip.Contains(':') ? $"[{e.Ip}]" : e.Ip;
        return e.Cluster is { } cluster ? $"{host}:{e.Port} ({cluster})" : $"{host}:{e.Port}";
    }

    /// <summary>
    /// <c>Metric  Labels  Value</c> from the agent's Prometheus text, like <c>cilium-dbg metrics list</c>:
    /// labels as <c>name=value</c> pairs, the value as the agent wrote it. Only metrics whose name
    /// matches <paramref name="namePattern"/> (when given) are listed.
    /// </summary>
    public static string MetricList(string prometheusText, Regex? namePattern)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (string raw in prometheusText.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || !TrySplitSample(line, out string name, out string labels, out string value))
                continue;
            if (namePattern is null || namePattern.IsMatch(name))
                rows.Add([name, labels, value]);
        }
        return TableText.Render(["Metric", "Labels", "Value"], rows);
    }

    /// <summary>Splits <c>name{a="x",b="y"} value</c> into its name, "a=x b=y" and the value.</summary>
    private static bool TrySplitSample(string line, out string name, out string labels, out string value)
    {
        int nameEnd = line.IndexOfAny(['{', ' ']);
        name = nameEnd < 0 ? line : line[..nameEnd];
        labels = value = "";
        if (nameEnd < 0)
            return false;
        int rest = nameEnd;
        if (line[nameEnd] == '{')
        {
            var pairs = new StringBuilder();
            int i = nameEnd + 1;
            while (i < line.Length && line[i] != '}')
            {
                int eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                    return false;
                if (pairs.Length > 0)
                    pairs.Append(' ');
                pairs.Append(line, i, eq - i).Append('=');
                i = eq + 2;
                for (; i < line.Length && line[i] != '"'; i++)
                {
                    // \" and \\ unescape; \n stays as written, so a row stays one line.
                    if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] != 'n')
                        i++;
                    pairs.Append(line[i]);
                }
                i++; // closing quote
                if (i < line.Length && line[i] == ',')
                    i++;
            }
            if (i >= line.Length)
                return false;
            labels = pairs.ToString();
            rest = i + 1;
        }
        string[] fields = line[rest..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length == 0)
            return false;
        value = fields[0];
        return true;
    }

    /// <summary>--verdict and --from-cluster filters of <c>observe</c>.</summary>
    public static bool Matches(FlowDoc f, string? verdict, string? fromCluster) =>
        (verdict is null || string.Equals(f.Verdict, verdict, StringComparison.OrdinalIgnoreCase)) &&
        (fromCluster is null || string.Equals(f.Source.Cluster, fromCluster, StringComparison.Ordinal));
}
