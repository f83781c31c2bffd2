using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static Operator.Tests.Deployment.ManifestObject;

namespace Operator.Tests.Deployment;

/// <summary>
/// The manifests under deploy/ as the API server would see them (kubectl is not installed here, so
/// these checks read the YAML themselves): every object has the fields Kubernetes requires, the
/// DaemonSet's references (selector, volumes, probes, service account, ConfigMaps) point at things
/// that exist, RBAC is read-only, and every kustomization lists only files that exist.
/// </summary>
public sealed class ManifestTests
{
    private static readonly HashSet<string> ClusterScopedKinds = new() { "ClusterRole", "ClusterRoleBinding", "Namespace" };
    private static readonly string[] ReadVerbs = { "get", "list", "watch" };

    private static ManifestObject DaemonSet => DeployFiles.Single("DaemonSet", "fastpath");
    private static YamlNode PodSpec => At(DaemonSet.Root, "spec", "template", "spec")!;
    private static YamlNode Agent => Items(PodSpec, "containers").Single(c => Text(c, "name") == "agent");

    [Fact]
    public void Every_yaml_file_under_deploy_parses_and_holds_at_least_one_object()
    {
        Assert.NotEmpty(DeployFiles.YamlFiles);
        foreach (string file in DeployFiles.YamlFiles)
            Assert.True(DeployFiles.Load(file).Count > 0, $"{file}: no YAML document");
    }

    [Fact]
    public void Every_object_has_api_version_kind_and_metadata_name_and_a_namespace_only_when_namespaced()
    {
        Assert.NotEmpty(DeployFiles.Objects);
        foreach (var o in DeployFiles.Objects)
        {
            Assert.False(string.IsNullOrEmpty(Text(o.Root, "apiVersion")), $"{o}: no apiVersion");
            Assert.False(string.IsNullOrEmpty(o.Kind), $"{o}: no kind");
            Assert.False(string.IsNullOrEmpty(o.Name), $"{o}: no metadata.name");
            Assert.Matches("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", o.Name);
            bool namespaced = Text(o.Root, "metadata", "namespace") is not null;
            Assert.True(namespaced != ClusterScopedKinds.Contains(o.Kind),
                $"{o}: {(namespaced ? "a cluster-scoped kind with" : "a namespaced kind without")} metadata.namespace");
        }
    }

    [Fact]
    public void Config_map_values_are_strings_to_the_api_server()
    {
        // data is map[string]string: a plain 1, true or null would reach the API server as a number, bool or null.
        foreach (var o in DeployFiles.Objects.Where(o => o.Kind == "ConfigMap"))
            if (At(o.Root, "data") is YamlMappingNode data)
                foreach (var (key, value) in data.Children)
                {
                    var scalar = Assert.IsType<YamlScalarNode>(value);
                    bool plain = scalar.Style is ScalarStyle.Plain or ScalarStyle.Any;
                    Assert.False(plain && System.Text.RegularExpressions.Regex.IsMatch(scalar.Value ?? "",
                        "^([-+]?[0-9][0-9_]*(\\.[0-9]*)?|true|false|True|False|yes|no|on|off|null|~|)$"),
                        $"{o}: data.{key} = {scalar.Value} is not a string in YAML; quote it");
                }
    }

    [Fact]
    public void The_daemon_set_selector_matches_its_pod_template_labels()
    {
        var selector = Assert.IsType<YamlMappingNode>(At(DaemonSet.Root, "spec", "selector", "matchLabels"));
        var labels = Assert.IsType<YamlMappingNode>(At(DaemonSet.Root, "spec", "template", "metadata", "labels"));
        Assert.NotEmpty(selector.Children);
        foreach (var (key, value) in selector.Children)
            Assert.True(labels.Children.TryGetValue(key, out var label) && label.ToString() == value.ToString(),
                $"selector {key}={value} is not a label of the pod template");
    }

    [Fact]
    public void Every_container_has_a_name_and_an_image_and_mounts_only_declared_volumes()
    {
        var volumes = Items(PodSpec, "volumes").Select(v => Text(v, "name")).ToHashSet();
        var containers = Items(PodSpec, "containers").Concat(Items(PodSpec, "initContainers")).ToList();
        Assert.NotEmpty(containers);
        foreach (var container in containers)
        {
            Assert.False(string.IsNullOrEmpty(Text(container, "name")), "a container without a name");
            Assert.False(string.IsNullOrEmpty(Text(container, "image")), $"container {Text(container, "name")} has no image");
            foreach (var mount in Items(container, "volumeMounts"))
            {
                Assert.Contains(Text(mount, "name"), volumes);
                Assert.StartsWith("/", Text(mount, "mountPath"));
            }
        }
        // Every declared volume is used (a leftover volume is a sign of a renamed mount).
        var mounted = containers.SelectMany(c => Items(c, "volumeMounts")).Select(m => Text(m, "name")).ToHashSet();
        Assert.Subset(mounted, volumes);
    }

    [Fact]
    public void The_daemon_set_runs_in_the_node_netns_on_every_node_with_the_bpffs_and_cilium_layouts_mounted()
    {
        Assert.Equal("true", Text(PodSpec, "hostNetwork"));
        Assert.Equal("ClusterFirstWithHostNet", Text(PodSpec, "dnsPolicy"));
        Assert.Equal("system-node-critical", Text(PodSpec, "priorityClassName"));
        Assert.Contains(Items(PodSpec, "tolerations"), t => Text(t, "operator") == "Exists" && Text(t, "key") is null);
        Assert.True(int.Parse(Text(PodSpec, "terminationGracePeriodSeconds")!) >= 5);
        Assert.Equal("RollingUpdate", Text(DaemonSet.Root, "spec", "updateStrategy", "type"));
        Assert.NotNull(Text(DaemonSet.Root, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable"));

        var mounts = Items(Agent, "volumeMounts").ToDictionary(m => Text(m, "mountPath")!, m => m);
        var volumes = Items(PodSpec, "volumes").ToDictionary(v => Text(v, "name")!, v => v);
        var bpf = mounts["/sys/fs/bpf"];
        Assert.Contains(Text(bpf, "mountPropagation"), new[] { "HostToContainer", "Bidirectional" });
        Assert.Equal("/sys/fs/bpf", Text(volumes[Text(bpf, "name")!], "hostPath", "path"));
        Assert.Equal("cilium-clustermesh", Text(volumes[Text(mounts["/var/lib/cilium/clustermesh"], "name")!], "secret", "secretName"));

        // Bidirectional propagation is refused by the API server outside privileged containers.
        bool privileged = Text(Agent, "securityContext", "privileged") == "true";
        Assert.True(privileged || Text(bpf, "mountPropagation") != "Bidirectional");
        var added = Items(Agent, "securityContext", "capabilities", "add").Select(c => c.ToString()).ToList();
        Assert.True(privileged || new[] { "NET_ADMIN", "BPF", "SYS_ADMIN", "NET_RAW", "IPC_LOCK" }.All(added.Contains),
            $"neither privileged nor the capability list: {string.Join(",", added)}");

        foreach (string kind in new[] { "requests", "limits" })
            foreach (string resource in new[] { "cpu", "memory" })
                Assert.NotNull(Text(Agent, "resources", kind, resource));
    }

    [Fact]
    public void The_daemon_set_refers_to_the_service_account_and_config_maps_defined_beside_it()
    {
        Assert.Equal("fastpath", Text(PodSpec, "serviceAccountName"));
        DeployFiles.Single("ServiceAccount", "fastpath");
        foreach (var volume in Items(PodSpec, "volumes"))
            if (Text(volume, "configMap", "name") is { } configMap)
            {
                var defined = DeployFiles.Single("ConfigMap", configMap, DeployFiles.Kustomize + "/base");
                foreach (var item in Items(volume, "configMap", "items"))
                    Assert.Contains(Text(item, "key")!, DeployFiles.Data(defined).Keys);
            }
        // The agent reads its flags from the mounted fastpath-config.
        string configDir = Text(Items(Agent, "volumeMounts").Single(m => Text(m, "name") == "config"), "mountPath")!;
        var args = Items(Agent, "args").Select(a => a.ToString()).ToList();
        Assert.Equal(configDir, args[args.IndexOf("--config-dir") + 1]);
    }

    [Fact]
    public void Every_probe_reaches_the_stats_address_of_the_config_map()
    {
        string[] stats = DeployFiles.Data(DeployFiles.Single("ConfigMap", "fastpath-config", DeployFiles.Kustomize + "/base"))["stats-address"].Split(':');
        int probes = 0;
        foreach (string probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            if (At(Agent, probe) is not { } node)
                continue;
            probes++;
            Assert.Equal("/healthz", Text(node, "httpGet", "path"));
            Assert.Equal(stats[1], Text(node, "httpGet", "port"));
            // Loopback stats are reachable only when the probe names the host (the default is the pod IP = node IP).
            Assert.Equal(stats[0] is "0.0.0.0" or "::" ? null : stats[0], Text(node, "httpGet", "host"));
        }
        Assert.True(probes >= 2, "expected at least readiness and liveness probes");
        Assert.NotNull(At(Agent, "readinessProbe"));
        Assert.NotNull(At(Agent, "livenessProbe"));
    }

    [Fact]
    public void Rbac_rules_are_complete_and_read_only()
    {
        var role = DeployFiles.Single("ClusterRole", "fastpath");
        var granted = new HashSet<string>();
        foreach (var rule in Items(role.Root, "rules"))
        {
            var groups = Items(rule, "apiGroups").Select(g => g.ToString()).ToList();
            var resources = Items(rule, "resources").Select(r => r.ToString()).ToList();
            var verbs = Items(rule, "verbs").Select(v => v.ToString()).ToList();
            Assert.NotEmpty(groups);
            Assert.NotEmpty(resources);
            Assert.NotEmpty(verbs);
            Assert.All(verbs, v => Assert.Contains(v, ReadVerbs));
            Assert.DoesNotContain("*", resources);
            foreach (var g in groups)
                foreach (var r in resources)
                    granted.Add($"{g}/{r}");
        }
        Assert.Subset(granted, new HashSet<string> { "/services", "/namespaces", "discovery.k8s.io/endpointslices",
            "cilium.io/ciliumnetworkpolicies", "cilium.io/ciliumclusterwidenetworkpolicies" });
    }

    [Fact]
    public void The_binding_refers_to_the_cluster_role_and_service_account_defined()
    {
        var binding = DeployFiles.Single("ClusterRoleBinding", "fastpath");
        Assert.Equal("rbac.authorization.k8s.io", Text(binding.Root, "roleRef", "apiGroup"));
        Assert.Equal("ClusterRole", Text(binding.Root, "roleRef", "kind"));
        DeployFiles.Single("ClusterRole", Text(binding.Root, "roleRef", "name")!);
        var subject = Assert.Single(Items(binding.Root, "subjects"));
        Assert.Equal("ServiceAccount", Text(subject, "kind"));
        var account = DeployFiles.Single("ServiceAccount", Text(subject, "name")!);
        Assert.Equal(Text(account.Root, "metadata", "namespace"), Text(subject, "namespace"));
    }

    [Fact]
    public void Every_kustomization_lists_only_files_that_exist_and_images_the_containers_use()
    {
        var kustomizations = DeployFiles.AllDocuments.Where(d => d.Kind == "Kustomization").ToList();
        Assert.Contains(kustomizations, k => k.File.Contains("/base/"));
        Assert.Contains(kustomizations, k => k.File.Contains("/overlays/"));
        var images = Items(PodSpec, "containers").Select(c => Text(c, "image")).ToHashSet();
        foreach (var k in kustomizations)
        {
            string dir = Path.GetDirectoryName(k.File)!;
            var listed = Items(k.Root, "resources").Select(r => r.ToString())
                .Concat(Items(k.Root, "patches").Select(p => Text(p, "path")).OfType<string>())
                .Concat(Items(k.Root, "patchesStrategicMerge").Select(p => p.ToString()));
            foreach (string entry in listed)
            {
                string path = Path.GetFullPath(Path.Combine(dir, entry));
                Assert.True(File.Exists(path) || File.Exists(Path.Combine(path, "kustomization.yaml")),
                    $"{k.File}: lists {entry}, which is neither a file nor a kustomization directory");
            }
            // Every YAML file beside a kustomization is one it uses (an unlisted manifest is never applied).
            var used = listed.Select(e => Path.GetFullPath(Path.Combine(dir, e))).ToHashSet();
            foreach (string file in System.IO.Directory.EnumerateFiles(dir, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml"))
                Assert.Contains(file, used);
            foreach (var image in Items(k.Root, "images"))
                Assert.Contains(Text(image, "name"), images);
        }
    }

    [Fact]
    public void Overlay_patches_target_objects_the_base_defines()
    {
        foreach (var k in DeployFiles.AllDocuments.Where(d => d.Kind == "Kustomization" && d.File.Contains("/overlays/")))
            foreach (string patch in Items(k.Root, "patches").Select(p => Text(p, "path")).OfType<string>())
                foreach (var target in DeployFiles.Load(Path.Combine(Path.GetDirectoryName(k.File)!, patch)))
                    DeployFiles.Single(target.Kind, target.Name, DeployFiles.Kustomize + "/base");
    }
}
