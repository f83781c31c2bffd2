using System.Collections.Immutable;
using FastPath.ControlPlane.Identity;

namespace FastPath.ControlPlane.Policy;

/// <summary>Selector operators, as Kubernetes label selectors spell them.</summary>
public enum SelectorOperator
{
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// <summary>
/// One requirement of a selector. <see cref="Source"/> is the label source the key must come from
/// (<c>k8s</c>, <c>reserved</c>, ...) or null when the key had no prefix or <c>any:</c> — then a
/// label from any source matches.
/// </summary>
public sealed record SelectorRequirement(string? Source, string Key, SelectorOperator Operator, ImmutableArray<string> Values)
{
    /// <summary>Splits a selector key: <c>k8s:app</c> → (k8s, app); <c>any:app</c> and <c>app</c> → (null, app).</summary>
    public static (string? Source, string Key) SplitKey(string key)
    {
        int colon = key.IndexOf(':');
        if (colon < 0)
            return (null, key);
        string source = key[..colon];
        return (source == Label.SourceAny ? null : source, key[(colon + 1)..]);
    }

    public bool Matches(LabelSet labels)
    {
        switch (Operator)
        {
            case SelectorOperator.Exists: return labels.Has(Source, Key);
            case SelectorOperator.DoesNotExist: return !labels.Has(Source, Key);
            case SelectorOperator.In:
                foreach (var v in labels.ValuesOf(Source, Key))
                    if (Values.Contains(v)) return true;
                return false;
            default: // NotIn: true when the key is absent too (Kubernetes semantics).
                foreach (var v in labels.ValuesOf(Source, Key))
                    if (Values.Contains(v)) return false;
                return true;
        }
    }

    public override string ToString() => Operator switch
    {
        SelectorOperator.Exists => $"{Source ?? "any"}:{Key} exists",
        SelectorOperator.DoesNotExist => $"{Source ?? "any"}:{Key} does not exist",
        _ => $"{Source ?? "any"}:{Key} {(Operator == SelectorOperator.In ? "in" : "notin")} ({string.Join(",", Values)})",
    };
}

/// <summary>
/// A Cilium endpoint selector: all requirements must hold (<c>matchLabels</c> entries become
/// <c>In</c> with one value). No requirements (<c>{}</c>) selects every identity.
/// </summary>
public sealed record EndpointSelector(ImmutableArray<SelectorRequirement> Requirements)
{
    public static EndpointSelector All { get; } = new(ImmutableArray<SelectorRequirement>.Empty);

    public static EndpointSelector FromMatchLabels(params (string Key, string Value)[] matchLabels) =>
        new(matchLabels.Select(kv =>
        {
            var (source, key) = SelectorRequirement.SplitKey(kv.Key);
            return new SelectorRequirement(source, key, SelectorOperator.In, ImmutableArray.Create(kv.Value));
        }).ToImmutableArray());

    public bool Matches(LabelSet labels)
    {
        foreach (var r in Requirements)
            if (!r.Matches(labels)) return false;
        return true;
    }

    /// <summary>True when a requirement names <paramref name="key"/> from source k8s or any (the keys
    /// Cilium checks before adding an implicit namespace or cluster).</summary>
    public bool HasK8sOrAnyKey(string key)
    {
        foreach (var r in Requirements)
            if (r.Key == key && (r.Source is null || r.Source == Label.SourceK8s)) return true;
        return false;
    }

    public bool HasSource(string source)
    {
        foreach (var r in Requirements)
            if (r.Source == source) return true;
        return false;
    }

    public EndpointSelector With(SelectorRequirement requirement) => new(Requirements.Add(requirement));

    /// <summary>Replaces every requirement on <paramref name="key"/> (k8s/any source) with one In requirement.</summary>
    public EndpointSelector WithOnly(string key, string value) =>
        new(Requirements.RemoveAll(r => r.Key == key && (r.Source is null || r.Source == Label.SourceK8s))
            .Add(new SelectorRequirement(Label.SourceK8s, key, SelectorOperator.In, ImmutableArray.Create(value))));

    public override string ToString() => Requirements.IsEmpty ? "{}" : "{" + string.Join(", ", Requirements) + "}";
}
