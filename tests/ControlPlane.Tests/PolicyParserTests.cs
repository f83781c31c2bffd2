using FastPath.Addressing;
using FastPath.ControlPlane.Policy;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Tests;

/// <summary>Parsing CNP/CCNP documents: accepted shapes, and malformed documents whose error names the
/// file, the document index and the path inside the document.</summary>
public class PolicyParserTests
{
    private const string Header = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\n";

    // description, document body after the header, expected exception message
    public static TheoryData<string, string, string> Malformed => new()
    {
        { "an unsupported protocol",
            "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n        protocol: ICMP\n",
            "policy.yaml doc 1: spec.ingress[0].toPorts[0].ports[0].protocol: expected TCP, UDP or ANY, got \"ICMP\"" },
        { "a misspelt field",
            "spec:\n  endpointSelector: {}\n  egress:\n  - toEndpoint: [{}]\n",
            "policy.yaml doc 1: spec.egress[0].toEndpoint: unknown field; expected one of toEndpoints, toPorts" },
        { "a port out of range",
            "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"70000\"}]}]\n",
            "policy.yaml doc 1: spec.ingress[0].toPorts[0].ports[0].port: expected a port 0–65535 or a port name, got \"70000\"" },
        { "an unknown selector operator inside specs",
            "specs:\n- endpointSelector: {}\n- endpointSelector: {matchExpressions: [{key: app, operator: Equals, values: [x]}]}\n",
            "policy.yaml doc 1: specs[1].endpointSelector.matchExpressions[0].operator: expected In, NotIn, Exists or DoesNotExist, got \"Equals\"" },
        { "In without values",
            "spec:\n  endpointSelector: {matchExpressions: [{key: app, operator: In}]}\n",
            "policy.yaml doc 1: spec.endpointSelector.matchExpressions[0].values: operator In needs at least one value" },
        { "a Cilium feature FastPath does not implement",
            "spec:\n  endpointSelector: {}\n  egress:\n  - toCIDR: [10.0.0.0/8]\n",
            "policy.yaml doc 1: spec.egress[0].toCIDR: a Cilium field FastPath does not implement (peers by fromEndpoints/toEndpoints only)" },
        { "ingress that is not a list",
            "spec:\n  endpointSelector: {}\n  ingress: {fromEndpoints: []}\n",
            "policy.yaml doc 1: spec.ingress: expected a list, got a mapping" },
        { "a missing endpointSelector",
            "spec:\n  ingress: []\n",
            "policy.yaml doc 1: spec.endpointSelector: required (use {} to select every endpoint)" },
        { "neither spec nor specs",
            "status: {}\n",
            "policy.yaml doc 1: expected spec or specs" },
        { "endPort below port",
            "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"90\", endPort: 80}]}]\n",
            "policy.yaml doc 1: spec.ingress[0].toPorts[0].ports[0].endPort: expected at least port 90, got 80" },
        { "an unknown L7 kind",
            "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"80\"}], rules: {grpc: []}}]\n",
            "policy.yaml doc 1: spec.ingress[0].toPorts[0].rules.grpc: unknown field; expected one of dns, http, kafka, l7, l7proto" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_document_fails_with_file_document_and_path_in_the_message(string description, string body, string expected)
    {
        // Document 0 is a valid Service, so the broken policy is document 1.
        string yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n" + Header + body;
        var e = Assert.Throws<PolicyParseException>(() => PolicyParser.ParseText(yaml, "policy.yaml"));
        Assert.True(expected == e.Message, $"{description}: got {e.Message}");
        Assert.Equal(("policy.yaml", 1), (e.File, e.DocumentIndex));
    }

    [Fact]
    public void A_yaml_syntax_error_names_the_file_and_the_line()
    {
        var e = Assert.Throws<PolicyParseException>(() => PolicyParser.ParseText(Header + "spec: [unclosed\n", "bad.yaml"));
        Assert.StartsWith("bad.yaml doc 0: invalid YAML at line", e.Message);
    }

    [Fact]
    public void A_wrong_api_version_is_rejected()
    {
        var e = Assert.Throws<PolicyParseException>(() => PolicyParser.ParseText(
            "apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\nspec: {endpointSelector: {}}\n", "v.yaml"));
        Assert.Equal("v.yaml doc 0: apiVersion: expected \"cilium.io/v2\", got \"cilium.io/v1\"", e.Message);
    }

    [Fact]
    public void A_parsed_yaml_tree_is_accepted_with_the_callers_file_name_and_document_index()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(Header + "spec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{}]\n"));
        var result = PolicyParser.ParseDocument((YamlMappingNode)stream.Documents[0].RootNode, "db.yaml", 4);
        var policy = Assert.Single(result.Policies);
        Assert.Equal(("p", "shop", "db.yaml doc 4"), (policy.Name, policy.Namespace, policy.Source.ToString()));
        Assert.True(policy.Rules[0].HasIngressSection);
        Assert.False(policy.Rules[0].HasEgressSection);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Ports_accept_numbers_strings_names_ranges_and_default_to_any_protocol()
    {
        var policy = PolicyParser.ParseText(Header + """
            spec:
              endpointSelector: {}
              ingress:
              - toPorts:
                - ports:
                  - {port: 53, protocol: UDP}
                  - {port: "8080"}
                  - {port: http-alt, protocol: TCP}
                  - {port: "9000", endPort: 9100, protocol: ANY}
            """, "ports.yaml").Policies.Single();
        var ports = policy.Rules[0].Ingress[0].Ports[0].Ports;
        Assert.Equal(new[] { "53/UDP", "8080/ANY", "http-alt/TCP", "9000-9100/ANY" }, ports.Select(p => p.ToString()));
        Assert.Equal(L4Protocol.Udp, ports[0].Protocol);
    }

    [Fact]
    public void A_clusterwide_policy_has_no_namespace_and_a_namespaced_one_defaults_to_default()
    {
        var ccnp = PolicyParser.ParseText("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\nspec: {endpointSelector: {}}\n", "c.yaml");
        Assert.True(ccnp.Policies.Single().IsClusterwide);
        var cnp = PolicyParser.ParseText("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: n}\nspec: {endpointSelector: {}}\n", "n.yaml");
        Assert.Equal("default", cnp.Policies.Single().Namespace);
    }

    [Fact]
    public void Several_L7_rules_in_one_policy_give_one_warning_and_two_policies_give_two()
    {
        const string l7 = """
            spec:
              endpointSelector: {}
              egress:
              - toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]
              - toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET}]}}]
            """;
        string yaml = Header + l7 + "\n---\n" + Header.Replace("name: p", "name: q") + l7;
        var result = PolicyParser.ParseText(yaml, "l7.yaml");
        Assert.Equal(2, result.Policies.Length);
        Assert.Equal(2, result.Warnings.Length);
        Assert.Contains("shop/p", result.Warnings[0]);
        Assert.Contains("shop/q", result.Warnings[1]);
        Assert.All(result.Policies, p => Assert.True(p.HasL7Rules));
    }
}
