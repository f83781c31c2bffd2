namespace FastPath.ControlPlane.Identity;

/// <summary>One security label, <c>source:key=value</c> as Cilium writes it (e.g. <c>k8s:app=bookstore</c>,
/// <c>reserved:host</c> with an empty value). Ordinal ordering: source, then key, then value.</summary>
public readonly record struct Label(string Source, string Key, string Value) : IComparable<Label>
{
    public const string SourceK8s = "k8s";
    public const string SourceReserved = "reserved";
    public const string SourceAny = "any";
    public const string SourceUnspec = "unspec";

    /// <summary>Label key Cilium puts on every endpoint identity naming its cluster (SPEC §6).</summary>
    public const string ClusterKey = "io.cilium.k8s.policy.cluster";

    /// <summary>Label key naming the endpoint's namespace.</summary>
    public const string NamespaceKey = "io.kubernetes.pod.namespace";

    /// <summary>Parses <c>source:key=value</c>; a missing source becomes <c>unspec</c>, a missing value empty.
    /// The source is what precedes the first ':' — keys themselves may not contain ':' (k8s forbids it).</summary>
    public static Label Parse(string text)
    {
        string s = text.Trim();
        int eq = s.IndexOf('=');
        string left = eq < 0 ? s : s[..eq];
        string value = eq < 0 ? "" : s[(eq + 1)..];
        int colon = left.IndexOf(':');
        string source = colon < 0 ? SourceUnspec : left[..colon];
        string key = colon < 0 ? left : left[(colon + 1)..];
        if (key.Length == 0)
            throw new FormatException($"label '{text}' has an empty key");
        return new Label(source, key, value);
    }

    public int CompareTo(Label other)
    {
        int c = string.CompareOrdinal(Source, other.Source);
        if (c != 0) return c;
        c = string.CompareOrdinal(Key, other.Key);
        return c != 0 ? c : string.CompareOrdinal(Value, other.Value);
    }

    public override string ToString() => $"{Source}:{Key}={Value}";
}
