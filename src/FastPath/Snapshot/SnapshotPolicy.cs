using FastPath.Policy;

namespace FastPath.Snapshot;

/// <summary>The policy half of a snapshot, as the builder collects it (see <see cref="ForwardingSnapshotBuilder.SetPolicy"/>).</summary>
internal sealed record SnapshotPolicy(PolicyVerdicts Verdicts, IpCache IpCache, long Revision, bool AwareSelection)
{
    /// <summary>No policy: everything allowed, every address world. Today's behaviour.</summary>
    public static SnapshotPolicy None { get; } = new(PolicyVerdicts.AllowAll, IpCache.Empty, 0, false);
}
