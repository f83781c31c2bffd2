using System.Collections.Immutable;

namespace FastPath.ControlPlane.Etcd;

/// <summary>A key with its value (UTF-8 decoded) and revisions, as etcd stores it.</summary>
public sealed record EtcdKeyValue(string Key, string Value, long CreateRevision, long ModRevision, long Version, long Lease);

/// <summary>The result of a Range: the matching keys, read at <see cref="Revision"/>.</summary>
public sealed record EtcdRangeResult(long Revision, ImmutableArray<EtcdKeyValue> Kvs);

/// <summary>What <c>Maintenance.Status</c> reports about the member.</summary>
public sealed record EtcdStatus(string Version, long Revision, ulong MemberId, ulong Leader, long DbSize);

public enum EtcdEventType { Put, Delete }

/// <summary>One change; for a delete <see cref="Value"/> is empty.</summary>
public sealed record EtcdEvent(EtcdEventType Type, string Key, string Value, long ModRevision);

/// <summary>
/// One Watch response. <see cref="CompactRevision"/> &gt; 0 with <see cref="Canceled"/> means the
/// requested start revision was compacted away: the watcher must re-list.
/// </summary>
public sealed record EtcdWatchBatch(
    long WatchId,
    long Revision,
    bool Created,
    bool Canceled,
    long CompactRevision,
    string CancelReason,
    ImmutableArray<EtcdEvent> Events);
