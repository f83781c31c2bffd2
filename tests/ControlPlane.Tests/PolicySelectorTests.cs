using System.Collections.Immutable;
using FastPath.ControlPlane.Identity;
using FastPath.ControlPlane.Policy;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Tests;

/// <summary>Table-driven selector matching: every selector form the seeds use, parsed from YAML exactly as
/// a policy would carry it, against label sets in Cilium's kvstore form.</summary>
public class PolicySelectorTests
{
    private const string Bookstore = "k8s:app=bookstore;k8s:io.cilium.k8s.policy.cluster=tokyo-cluster;k8s:io.kubernetes.pod.namespace=default;";
    private const string BookstoreHk = "k8s:app=bookstore;k8s:io.cilium.k8s.policy.cluster=hk-cluster;k8s:io.kubernetes.pod.namespace=default;";
    private const string KubeDns = "k8s:io.cilium.k8s.policy.cluster=tokyo-cluster;k8s:io.kubernetes.pod.namespace=kube-system;k8s:k8s-app=kube-dns;";
    private const string ContainerApp = "container:app=bookstore;k8s:io.kubernetes.pod.namespace=default;";
    private const string Host = "reserved:host=;";

    // description, selector YAML (flow style), labels (kvstore form), expected
    public static TheoryData<string, string, string, bool> Cases => new()
    {
        { "empty selector selects everything", "{}", Bookstore, true },
        { "empty selector selects reserved identities too (before implicit scope)", "{}", Host, true },
        { "matchLabels without prefix matches a k8s label", "{matchLabels: {app: bookstore}}", Bookstore, true },
        { "matchLabels without prefix matches any source", "{matchLabels: {app: bookstore}}", ContainerApp, true },
        { "matchLabels with a different value does not match", "{matchLabels: {app: netshoot}}", Bookstore, false },
        { "k8s: prefix matches a k8s label", "{matchLabels: {'k8s:app': bookstore}}", Bookstore, true },
        { "k8s: prefix does not match another source", "{matchLabels: {'k8s:app': bookstore}}", ContainerApp, false },
        { "any: prefix matches another source", "{matchLabels: {'any:app': bookstore}}", ContainerApp, true },
        { "all matchLabels must hold", "{matchLabels: {app: bookstore, 'io.kubernetes.pod.namespace': kube-system}}", Bookstore, false },
        { "cluster label selects its cluster", "{matchLabels: {app: bookstore, io.cilium.k8s.policy.cluster: tokyo-cluster}}", Bookstore, true },
        { "cluster label rejects another cluster", "{matchLabels: {app: bookstore, io.cilium.k8s.policy.cluster: tokyo-cluster}}", BookstoreHk, false },
        { "k8s:-prefixed namespace label", "{matchLabels: {app: employee, 'k8s:io.kubernetes.pod.namespace': default}}",
            "k8s:app=employee;k8s:io.kubernetes.pod.namespace=default;", true },
        { "two labels as in the DNS rule", "{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}", KubeDns, true },
        { "In matches one of its values", "{matchExpressions: [{key: app, operator: In, values: [netshoot, bookstore]}]}", Bookstore, true },
        { "In with no listed value fails", "{matchExpressions: [{key: app, operator: In, values: [netshoot]}]}", Bookstore, false },
        { "In fails when the key is absent", "{matchExpressions: [{key: tier, operator: In, values: [db]}]}", Bookstore, false },
        { "NotIn rejects a listed value", "{matchExpressions: [{key: app, operator: NotIn, values: [bookstore]}]}", Bookstore, false },
        { "NotIn accepts another value", "{matchExpressions: [{key: app, operator: NotIn, values: [netshoot]}]}", Bookstore, true },
        { "NotIn accepts an absent key", "{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}", Bookstore, true },
        { "Exists matches a present key", "{matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]}", Bookstore, true },
        { "Exists fails on an absent key", "{matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]}", ContainerApp, false },
        { "DoesNotExist matches an absent key", "{matchExpressions: [{key: tier, operator: DoesNotExist}]}", Bookstore, true },
        { "DoesNotExist fails on a present key", "{matchExpressions: [{key: app, operator: DoesNotExist}]}", Bookstore, false },
        { "reserved: prefix selects the host", "{matchLabels: {'reserved:host': ''}}", Host, true },
        { "matchLabels and matchExpressions combine with AND",
            "{matchLabels: {app: bookstore}, matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: NotIn, values: [hk-cluster]}]}", BookstoreHk, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_selector_matches_exactly_the_label_sets_it_describes(string description, string selectorYaml, string labels, bool expected)
    {
        var selector = ParseSelector(selectorYaml);
        Assert.True(expected == selector.Matches(LabelSet.ParseKvstore(labels)), $"{description}: {selector} vs {labels}");
    }

    // description, policy namespace (null = clusterwide), peer selector, default cluster, labels, expected
    public static TheoryData<string, string?, string, string?, string, bool> ScopeCases => new()
    {
        { "a namespaced policy's peer {} means its own namespace", "default", "{}", null, Bookstore, true },
        { "a namespaced policy's peer {} excludes other namespaces", "default", "{}", null, KubeDns, false },
        { "an explicit namespace in the peer wins over the policy's", "default",
            "{matchLabels: {io.kubernetes.pod.namespace: kube-system}}", null, KubeDns, true },
        { "an explicit k8s:-prefixed namespace in the peer wins", "default",
            "{matchLabels: {'k8s:io.kubernetes.pod.namespace': kube-system}}", null, KubeDns, true },
        { "a clusterwide policy's peer {} needs some namespace", null, "{}", null, KubeDns, true },
        { "a clusterwide policy's peer {} excludes the host", null, "{}", null, Host, false },
        { "a reserved: peer selector gets no namespace", "default", "{matchLabels: {'reserved:host': ''}}", null, Host, true },
        { "without the default-local-cluster option a peer matches every cluster", "default", "{matchLabels: {app: bookstore}}", null, BookstoreHk, true },
        { "with the option a peer matches only the local cluster", "default", "{matchLabels: {app: bookstore}}", "tokyo-cluster", BookstoreHk, false },
        { "with the option the local cluster still matches", "default", "{matchLabels: {app: bookstore}}", "tokyo-cluster", Bookstore, true },
        { "with the option an explicit cluster label wins", "default",
            "{matchLabels: {app: bookstore, io.cilium.k8s.policy.cluster: hk-cluster}}", "tokyo-cluster", BookstoreHk, true },
    };

    [Theory]
    [MemberData(nameof(ScopeCases))]
    public void Peer_selectors_get_the_implicit_namespace_and_cluster_Cilium_adds(string description, string? ns, string selectorYaml,
        string? defaultCluster, string labels, bool expected)
    {
        var selector = ImplicitScope.ForPeer(ParseSelector(selectorYaml), ns, defaultCluster);
        Assert.True(expected == selector.Matches(LabelSet.ParseKvstore(labels)), $"{description}: {selector} vs {labels}");
    }

    [Fact]
    public void A_namespaced_endpoint_selector_is_forced_into_the_policy_namespace_even_if_it_names_another()
    {
        var selector = ImplicitScope.ForSubject(ParseSelector("{matchLabels: {io.kubernetes.pod.namespace: kube-system}}"), "default");
        Assert.False(selector.Matches(LabelSet.ParseKvstore(KubeDns)));
        Assert.True(selector.Matches(LabelSet.ParseKvstore(Bookstore)));
        Assert.True(ImplicitScope.ForSubject(EndpointSelector.All, null).Matches(LabelSet.ParseKvstore(KubeDns)));
    }

    [Fact]
    public void Label_sets_parse_from_kvstore_form_sorted_and_print_back_identically()
    {
        var set = LabelSet.ParseKvstore("k8s:io.kubernetes.pod.namespace=default;k8s:app=bookstore;k8s:io.cilium.k8s.policy.cluster=hk;");
        Assert.Equal("k8s:app=bookstore;k8s:io.cilium.k8s.policy.cluster=hk;k8s:io.kubernetes.pod.namespace=default;", set.ToKvstoreString());
        Assert.Equal("hk", set.Cluster);
        Assert.Equal("default", set.Namespace);
        Assert.Equal(set, LabelSet.ParseKvstore(set.ToKvstoreString()));
    }

    /// <summary>Wraps the selector in a minimal clusterwide policy and parses it with the real parser.</summary>
    private static EndpointSelector ParseSelector(string flowYaml)
    {
        string yaml = $"apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: t}}\nspec:\n  endpointSelector: {flowYaml}\n";
        return PolicyParser.ParseText(yaml, "selector.yaml").Policies.Single().Rules.Single().EndpointSelector;
    }
}
