using System.Collections.Immutable;
using System.Text;

namespace FastPath.ControlPlane.Identity;

/// <summary>
/// The labels of one identity, sorted and de-duplicated, so two sets with the same labels are
/// equal whatever order they were given in. Parses and prints Cilium's kvstore form
/// <c>k8s:app=bookstore;k8s:io.cilium.k8s.policy.cluster=hk;k8s:io.kubernetes.pod.namespace=default;</c>.
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>
{
    public static LabelSet Empty { get; } = new(ImmutableArray<Label>.Empty);

    public ImmutableArray<Label> Labels { get; }

    private LabelSet(ImmutableArray<Label> sorted) => Labels = sorted;

    public static LabelSet Create(IEnumerable<Label> labels)
    {
        var sorted = labels.Distinct().ToList();
        sorted.Sort();
        return new LabelSet(sorted.ToImmutableArray());
    }

    public static LabelSet Create(params string[] labels) => Create(labels.Select(Label.Parse));

    /// <summary>Parses the kvstore form: labels separated (and optionally terminated) by ';'.</summary>
    public static LabelSet ParseKvstore(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Create(text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Label.Parse));
    }

    /// <summary>Values of labels with this key, from <paramref name="source"/> (null = any source).</summary>
    public IEnumerable<string> ValuesOf(string? source, string key)
    {
        foreach (var l in Labels)
            if (l.Key == key && (source is null || l.Source == source))
                yield return l.Value;
    }

    public bool Has(string? source, string key)
    {
        foreach (var l in Labels)
            if (l.Key == key && (source is null || l.Source == source))
                return true;
        return false;
    }

    /// <summary>Value of <c>io.cilium.k8s.policy.cluster</c> (any source), or null.</summary>
    public string? Cluster => ValuesOf(null, Label.ClusterKey).FirstOrDefault();

    /// <summary>Value of <c>io.kubernetes.pod.namespace</c> (any source), or null.</summary>
    public string? Namespace => ValuesOf(null, Label.NamespaceKey).FirstOrDefault();

    public string ToKvstoreString()
    {
        var sb = new StringBuilder();
        foreach (var l in Labels)
            sb.Append(l.Source).Append(':').Append(l.Key).Append('=').Append(l.Value).Append(';');
        return sb.ToString();
    }

    public bool Equals(LabelSet? other) => other is not null && Labels.AsSpan().SequenceEqual(other.Labels.AsSpan());
    public override bool Equals(object? obj) => Equals(obj as LabelSet);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var l in Labels) h.Add(l);
        return h.ToHashCode();
    }

    public override string ToString() => ToKvstoreString();
}
