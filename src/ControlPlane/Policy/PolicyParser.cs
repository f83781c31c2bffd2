using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using FastPath.Addressing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Policy;

/// <summary>
/// Parses CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (cilium.io/v2) documents, strictly:
/// an unknown field, a wrong type or a Cilium feature FastPath does not implement is a
/// <see cref="PolicyParseException"/> naming file, document index and path — never silently ignored,
/// because an ignored allow or deny changes what traffic passes. <c>metadata</c> is the exception:
/// only name/namespace matter and other fields (labels, annotations, ...) are ignored.
/// L7 <c>rules</c> are accepted and reported through <see cref="PolicyParseResult.Warnings"/> (one per policy).
/// </summary>
public static partial class PolicyParser
{
    public const string ApiVersion = "cilium.io/v2";

    /// <summary>Namespace a CiliumNetworkPolicy lands in when metadata has none (kubectl's default).</summary>
    public const string DefaultNamespace = "default";

    private static readonly HashSet<string> TopLevelFields = new(StringComparer.Ordinal) { "apiVersion", "kind", "metadata", "spec", "specs", "status" };
    private static readonly HashSet<string> RuleFields = new(StringComparer.Ordinal) { "endpointSelector", "ingress", "egress", "description", "labels" };
    private static readonly HashSet<string> IngressFields = new(StringComparer.Ordinal) { "fromEndpoints", "toPorts" };
    private static readonly HashSet<string> EgressFields = new(StringComparer.Ordinal) { "toEndpoints", "toPorts" };
    private static readonly HashSet<string> PortRuleFields = new(StringComparer.Ordinal) { "ports", "rules" };
    private static readonly HashSet<string> PortFields = new(StringComparer.Ordinal) { "port", "endPort", "protocol" };
    private static readonly HashSet<string> SelectorFields = new(StringComparer.Ordinal) { "matchLabels", "matchExpressions" };
    private static readonly HashSet<string> ExpressionFields = new(StringComparer.Ordinal) { "key", "operator", "values" };
    private static readonly HashSet<string> L7Kinds = new(StringComparer.Ordinal) { "http", "dns", "kafka", "l7proto", "l7" };

    /// <summary>Cilium rule fields FastPath knowingly does not implement (L3 peers by endpoint selector only).</summary>
    private static readonly HashSet<string> UnsupportedCiliumFields = new(StringComparer.Ordinal)
    {
        "nodeSelector", "ingressDeny", "egressDeny", "enableDefaultDeny", "fromCIDR", "fromCIDRSet", "fromEntities",
        "fromRequires", "fromGroups", "fromNodes", "icmps", "authentication", "toCIDR", "toCIDRSet", "toEntities",
        "toRequires", "toServices", "toFQDNs", "toGroups", "toNodes", "originatingTLS", "terminatingTLS", "listener", "serverNames",
    };

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")]
    private static partial Regex PortNamePattern();

    /// <summary>Parses every CNP/CCNP document in a YAML text; other kinds (Service, ...) are skipped.
    /// Documents are numbered from 0 in file order.</summary>
    public static PolicyParseResult ParseText(string yaml, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            int doc = yaml.AsSpan(0, Math.Min(yaml.Length, (int)Math.Max(0, e.Start.Index))).Count("\n---");
            throw new PolicyParseException(file, doc, "", $"invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }
        var policies = ImmutableArray.CreateBuilder<CiliumPolicy>();
        var warnings = ImmutableArray.CreateBuilder<string>();
        for (int i = 0; i < stream.Documents.Count; i++)
        {
            if (stream.Documents[i].RootNode is not YamlMappingNode root)
                continue; // empty document between '---' separators
            string? kind = Scalar(root, "kind");
            if (kind != CiliumPolicy.KindNamespaced && kind != CiliumPolicy.KindClusterwide)
                continue;
            var one = ParseDocument(root, file, i);
            policies.Add(one.Policies[0]);
            warnings.AddRange(one.Warnings);
        }
        return new PolicyParseResult(policies.ToImmutable(), warnings.ToImmutable());
    }

    /// <summary>Parses one document already loaded as a YAML tree (its kind must be CNP or CCNP).</summary>
    public static PolicyParseResult ParseDocument(YamlMappingNode root, string file, int documentIndex)
    {
        var ctx = new Context(file, documentIndex);
        CheckFields(ctx, root, "", TopLevelFields, allowUnsupported: false);
        string apiVersion = RequiredString(ctx, root, "", "apiVersion");
        if (apiVersion != ApiVersion)
            throw ctx.Error("apiVersion", $"expected \"{ApiVersion}\", got \"{apiVersion}\"");
        string kind = RequiredString(ctx, root, "", "kind");
        if (kind != CiliumPolicy.KindNamespaced && kind != CiliumPolicy.KindClusterwide)
            throw ctx.Error("kind", $"expected {CiliumPolicy.KindNamespaced} or {CiliumPolicy.KindClusterwide}, got \"{kind}\"");
        var metadata = Child(root, "metadata") as YamlMappingNode ?? throw ctx.Error("metadata", "expected a mapping with name");
        string name = RequiredString(ctx, metadata, "metadata", "name");
        string? ns = OptionalString(ctx, metadata, "metadata", "namespace");
        if (kind == CiliumPolicy.KindClusterwide)
        {
            if (ns is not null)
                throw ctx.Error("metadata.namespace", $"a {CiliumPolicy.KindClusterwide} has no namespace, got \"{ns}\"");
        }
        else
        {
            ns ??= DefaultNamespace;
        }

        var rules = ImmutableArray.CreateBuilder<PolicyRule>();
        var spec = Child(root, "spec");
        var specs = Child(root, "specs");
        if (spec is null && specs is null)
            throw ctx.Error("", "expected spec or specs");
        if (spec is not null)
            rules.Add(ParseRule(ctx, Mapping(ctx, spec, "spec"), "spec"));
        if (specs is not null)
        {
            var list = Sequence(ctx, specs, "specs");
            for (int i = 0; i < list.Children.Count; i++)
                rules.Add(ParseRule(ctx, Mapping(ctx, list.Children[i], $"specs[{i}]"), $"specs[{i}]"));
        }
        var policy = new CiliumPolicy(kind, name, ns, new PolicySource(file, documentIndex), rules.ToImmutable());
        var warnings = ctx.SawL7
            ? ImmutableArray.Create($"{file} doc {documentIndex}: policy {policy.DisplayName}: L7 rules ({string.Join(", ", ctx.L7Kinds.Order())}) are enforced at L4 only")
            : ImmutableArray<string>.Empty;
        return new PolicyParseResult(ImmutableArray.Create(policy), warnings);
    }

    private static PolicyRule ParseRule(Context ctx, YamlMappingNode rule, string path)
    {
        CheckFields(ctx, rule, path, RuleFields, allowUnsupported: true);
        var selectorNode = Child(rule, "endpointSelector") ?? throw ctx.Error(path + ".endpointSelector", "required (use {} to select every endpoint)");
        var subject = ParseSelector(ctx, selectorNode, path + ".endpointSelector");
        string? description = OptionalString(ctx, rule, path, "description");
        if (Child(rule, "labels") is { } labels)
            Sequence(ctx, labels, path + ".labels"); // rule labels only name the rule; accepted, unused
        var ingress = ParsePeerRules(ctx, rule, path, "ingress", "fromEndpoints", IngressFields, out bool hasIngress);
        var egress = ParsePeerRules(ctx, rule, path, "egress", "toEndpoints", EgressFields, out bool hasEgress);
        return new PolicyRule(subject, hasIngress, ingress, hasEgress, egress, description);
    }

    private static ImmutableArray<PeerRule> ParsePeerRules(Context ctx, YamlMappingNode rule, string rulePath, string section,
        string peerField, HashSet<string> fields, out bool present)
    {
        var node = Child(rule, section);
        var result = ImmutableArray.CreateBuilder<PeerRule>();
        present = false;
        if (node is null || IsNull(node))
            return result.ToImmutable();
        var list = Sequence(ctx, node, $"{rulePath}.{section}");
        present = list.Children.Count > 0;
        for (int i = 0; i < list.Children.Count; i++)
        {
            string path = $"{rulePath}.{section}[{i}]";
            var item = Mapping(ctx, list.Children[i], path);
            CheckFields(ctx, item, path, fields, allowUnsupported: true);
            ImmutableArray<EndpointSelector>? peers = null;
            if (Child(item, peerField) is { } peersNode)
            {
                var peerList = Sequence(ctx, peersNode, $"{path}.{peerField}");
                var b = ImmutableArray.CreateBuilder<EndpointSelector>();
                for (int j = 0; j < peerList.Children.Count; j++)
                    b.Add(ParseSelector(ctx, peerList.Children[j], $"{path}.{peerField}[{j}]"));
                peers = b.ToImmutable();
            }
            var ports = ImmutableArray.CreateBuilder<PortRule>();
            if (Child(item, "toPorts") is { } toPorts)
            {
                var portList = Sequence(ctx, toPorts, $"{path}.toPorts");
                for (int j = 0; j < portList.Children.Count; j++)
                    ports.Add(ParsePortRule(ctx, portList.Children[j], $"{path}.toPorts[{j}]"));
            }
            result.Add(new PeerRule(peers, ports.ToImmutable()));
        }
        return result.ToImmutable();
    }

    private static PortRule ParsePortRule(Context ctx, YamlNode node, string path)
    {
        var map = Mapping(ctx, node, path);
        CheckFields(ctx, map, path, PortRuleFields, allowUnsupported: true);
        var ports = ImmutableArray.CreateBuilder<PortProtocol>();
        if (Child(map, "ports") is { } portsNode)
        {
            var list = Sequence(ctx, portsNode, path + ".ports");
            for (int i = 0; i < list.Children.Count; i++)
                ports.Add(ParsePort(ctx, list.Children[i], $"{path}.ports[{i}]"));
        }
        bool l7 = false;
        if (Child(map, "rules") is { } rules && !IsNull(rules))
        {
            var rulesMap = Mapping(ctx, rules, path + ".rules");
            foreach (var (k, _) in rulesMap.Children)
            {
                string kind = ((YamlScalarNode)k).Value ?? "";
                if (!L7Kinds.Contains(kind))
                    throw ctx.Error($"{path}.rules.{kind}", $"unknown field; expected one of {string.Join(", ", L7Kinds.Order())}");
                ctx.L7Kinds.Add(kind);
            }
            l7 = rulesMap.Children.Count > 0;
            ctx.SawL7 |= l7;
        }
        return new PortRule(ports.ToImmutable(), l7);
    }

    private static PortProtocol ParsePort(Context ctx, YamlNode node, string path)
    {
        var map = Mapping(ctx, node, path);
        CheckFields(ctx, map, path, PortFields, allowUnsupported: false);
        string portText = RequiredString(ctx, map, path, "port");
        ushort port = 0;
        string? portName = null;
        if (portText.Length > 0 && char.IsAsciiDigit(portText[0]))
        {
            if (!ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port))
                throw ctx.Error(path + ".port", $"expected a port 0–65535 or a port name, got \"{portText}\"");
        }
        else if (PortNamePattern().IsMatch(portText) && portText.Any(char.IsAsciiLetter))
        {
            portName = portText;
        }
        else
        {
            throw ctx.Error(path + ".port", $"expected a port 0–65535 or a port name (lowercase letters, digits, '-', ≤ 15 chars), got \"{portText}\"");
        }
        ushort endPort = 0;
        if (OptionalString(ctx, map, path, "endPort") is { } endText)
        {
            if (!ushort.TryParse(endText, NumberStyles.None, CultureInfo.InvariantCulture, out endPort))
                throw ctx.Error(path + ".endPort", $"expected a port 0–65535, got \"{endText}\"");
            if (portName is not null)
                throw ctx.Error(path + ".endPort", "not allowed with a named port");
            if (endPort != 0 && endPort < port)
                throw ctx.Error(path + ".endPort", $"expected at least port {port}, got {endPort}");
            if (endPort == port)
                endPort = 0;
        }
        var protocol = L4Protocol.Any;
        if (OptionalString(ctx, map, path, "protocol") is { } protoText)
        {
            protocol = protoText switch
            {
                "TCP" => L4Protocol.Tcp,
                "UDP" => L4Protocol.Udp,
                "ANY" => L4Protocol.Any,
                _ => throw ctx.Error(path + ".protocol", $"expected TCP, UDP or ANY, got \"{protoText}\""),
            };
        }
        return new PortProtocol(port, portName, endPort, protocol);
    }

    private static EndpointSelector ParseSelector(Context ctx, YamlNode node, string path)
    {
        if (IsNull(node))
            return EndpointSelector.All;
        var map = Mapping(ctx, node, path);
        CheckFields(ctx, map, path, SelectorFields, allowUnsupported: false);
        var reqs = ImmutableArray.CreateBuilder<SelectorRequirement>();
        if (Child(map, "matchLabels") is { } ml && !IsNull(ml))
        {
            foreach (var (k, v) in Mapping(ctx, ml, path + ".matchLabels").Children)
            {
                string key = ((YamlScalarNode)k).Value ?? "";
                string vpath = $"{path}.matchLabels.{key}";
                var (source, bare) = SplitCheckedKey(ctx, key, vpath);
                string value = v is YamlScalarNode s ? s.Value ?? "" : throw ctx.Error(vpath, "expected a string value");
                reqs.Add(new SelectorRequirement(source, bare, SelectorOperator.In, ImmutableArray.Create(value)));
            }
        }
        if (Child(map, "matchExpressions") is { } me && !IsNull(me))
        {
            var list = Sequence(ctx, me, path + ".matchExpressions");
            for (int i = 0; i < list.Children.Count; i++)
            {
                string epath = $"{path}.matchExpressions[{i}]";
                var expr = Mapping(ctx, list.Children[i], epath);
                CheckFields(ctx, expr, epath, ExpressionFields, allowUnsupported: false);
                var (source, bare) = SplitCheckedKey(ctx, RequiredString(ctx, expr, epath, "key"), epath + ".key");
                string opText = RequiredString(ctx, expr, epath, "operator");
                var op = opText switch
                {
                    "In" => SelectorOperator.In,
                    "NotIn" => SelectorOperator.NotIn,
                    "Exists" => SelectorOperator.Exists,
                    "DoesNotExist" => SelectorOperator.DoesNotExist,
                    _ => throw ctx.Error(epath + ".operator", $"expected In, NotIn, Exists or DoesNotExist, got \"{opText}\""),
                };
                var values = ImmutableArray<string>.Empty;
                if (Child(expr, "values") is { } vals && !IsNull(vals))
                    values = Sequence(ctx, vals, epath + ".values").Children
                        .Select((n, j) => n is YamlScalarNode s ? s.Value ?? "" : throw ctx.Error($"{epath}.values[{j}]", "expected a string"))
                        .ToImmutableArray();
                bool needsValues = op is SelectorOperator.In or SelectorOperator.NotIn;
                if (needsValues && values.IsEmpty)
                    throw ctx.Error(epath + ".values", $"operator {opText} needs at least one value");
                if (!needsValues && !values.IsEmpty)
                    throw ctx.Error(epath + ".values", $"operator {opText} takes no values");
                reqs.Add(new SelectorRequirement(source, bare, op, values));
            }
        }
        return new EndpointSelector(reqs.ToImmutable());
    }

    private static (string? Source, string Key) SplitCheckedKey(Context ctx, string key, string path)
    {
        var (source, bare) = SelectorRequirement.SplitKey(key);
        if (bare.Length == 0 || source is { Length: 0 })
            throw ctx.Error(path, $"expected a label key like app, k8s:app or any:app, got \"{key}\"");
        return (source, bare);
    }

    // ---- small YAML helpers ----

    private sealed class Context(string file, int doc)
    {
        public bool SawL7;
        public readonly HashSet<string> L7Kinds = new(StringComparer.Ordinal);
        public PolicyParseException Error(string path, string problem) => new(file, doc, path, problem);
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: not ScalarStyle.SingleQuoted and not ScalarStyle.DoubleQuoted } s &&
        (s.Value is null || s.Value == "" || s.Value == "~" || s.Value == "null");

    private static string? Scalar(YamlMappingNode map, string key) => Child(map, key) is YamlScalarNode s ? s.Value : null;

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static YamlMappingNode Mapping(Context ctx, YamlNode node, string path) =>
        node as YamlMappingNode ?? throw ctx.Error(path, $"expected a mapping, got {Describe(node)}");

    private static YamlSequenceNode Sequence(Context ctx, YamlNode node, string path) =>
        node as YamlSequenceNode ?? throw ctx.Error(path, $"expected a list, got {Describe(node)}");

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => $"\"{s.Value}\"",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    private static string RequiredString(Context ctx, YamlMappingNode map, string path, string key) =>
        OptionalString(ctx, map, path, key) ?? throw ctx.Error(Join(path, key), "required");

    private static string? OptionalString(Context ctx, YamlMappingNode map, string path, string key)
    {
        var node = Child(map, key);
        if (node is null || IsNull(node))
            return null;
        return node is YamlScalarNode s ? s.Value ?? "" : throw ctx.Error(Join(path, key), $"expected a string, got {Describe(node)}");
    }

    private static void CheckFields(Context ctx, YamlMappingNode map, string path, HashSet<string> allowed, bool allowUnsupported)
    {
        foreach (var (k, _) in map.Children)
        {
            string key = (k as YamlScalarNode)?.Value ?? "";
            if (allowed.Contains(key))
                continue;
            if (allowUnsupported && UnsupportedCiliumFields.Contains(key))
                throw ctx.Error(Join(path, key), "a Cilium field FastPath does not implement (peers by fromEndpoints/toEndpoints only)");
            throw ctx.Error(Join(path, key), $"unknown field; expected one of {string.Join(", ", allowed.Order(StringComparer.Ordinal))}");
        }
    }
}

/// <summary>Policies parsed from one file or document, with warnings (one per policy with L7 rules).</summary>
public sealed record PolicyParseResult(ImmutableArray<CiliumPolicy> Policies, ImmutableArray<string> Warnings);
