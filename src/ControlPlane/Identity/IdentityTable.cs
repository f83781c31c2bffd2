using System.Collections.Immutable;
using System.Globalization;

namespace FastPath.ControlPlane.Identity;

/// <summary>
/// Every known identity (all clusters' plus the reserved ones) → its labels. Immutable; rebuilt
/// and republished when the kvstore changes. The policy compiler evaluates selectors against it.
/// </summary>
public sealed class IdentityTable
{
    /// <summary>kvstore prefix of identity keys: <c>cilium/state/identities/v1/id/&lt;numeric-id&gt;</c>.</summary>
    public const string KvstorePrefix = "cilium/state/identities/v1/id/";

    private readonly ImmutableSortedDictionary<uint, LabelSet> _byId;

    public static IdentityTable ReservedOnly { get; } = Create(Array.Empty<KeyValuePair<uint, LabelSet>>());

    private IdentityTable(ImmutableSortedDictionary<uint, LabelSet> byId) => _byId = byId;

    /// <summary>Builds the table from allocated identities; reserved identities are always added.
    /// Throws if an allocated identity is in the reserved range or above 24 bits.</summary>
    public static IdentityTable Create(IEnumerable<KeyValuePair<uint, LabelSet>> identities)
    {
        var b = ImmutableSortedDictionary.CreateBuilder<uint, LabelSet>();
        foreach (var (id, name) in ReservedIdentities.Names)
            b[id] = ReservedIdentities.LabelsOf(id);
        foreach (var (id, labels) in identities)
        {
            if (ReservedIdentities.IsReserved(id) || id > 0xFF_FFFF)
                throw new ArgumentOutOfRangeException(nameof(identities), $"identity {id} ({labels}) is outside the allocatable range 256–16777215");
            b[id] = labels;
        }
        return new IdentityTable(b.ToImmutable());
    }

    /// <summary>Parses one kvstore identity entry (key <c>cilium/state/identities/v1/id/131077</c>,
    /// value <c>k8s:app=x;...;</c>).</summary>
    public static KeyValuePair<uint, LabelSet> ParseKvstoreEntry(string key, string value)
    {
        if (!key.StartsWith(KvstorePrefix, StringComparison.Ordinal) ||
            !uint.TryParse(key.AsSpan(KvstorePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
            throw new FormatException($"kvstore key '{key}': expected {KvstorePrefix}<numeric-id>");
        return new(id, LabelSet.ParseKvstore(value));
    }

    public int Count => _byId.Count;

    /// <summary>All identities in ascending order.</summary>
    public IEnumerable<KeyValuePair<uint, LabelSet>> All => _byId;

    public bool TryGet(uint identity, out LabelSet labels) => _byId.TryGetValue(identity, out labels!);
}
