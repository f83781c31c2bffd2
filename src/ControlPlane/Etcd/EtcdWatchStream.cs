using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using FastPath.ControlPlane.Etcd.Protos;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// An open etcd Watch stream (bidirectional gRPC). Create and cancel watches with
/// <see cref="AddPrefix"/> / <see cref="Cancel"/>; read responses with <see cref="ReadAllAsync"/>.
/// Disposing closes the stream and the server cancels every watch on it.
/// </summary>
public sealed class EtcdWatchStream : IAsyncDisposable
{
    private readonly DuplexCall _call;

    internal EtcdWatchStream(DuplexCall call) => _call = call;

    /// <summary>Asks for a watch on every key under <paramref name="prefix"/> from <paramref name="startRevision"/> (0 = now).
    /// The server answers with a batch whose <see cref="EtcdWatchBatch.Created"/> is true, in request order.</summary>
    public void AddPrefix(string prefix, long startRevision) => _call.Send(CreateRequest(prefix, startRevision));

    internal static WatchRequest CreateRequest(string prefix, long startRevision) => new()
    {
        CreateRequest = new WatchCreateRequest
        {
            Key = EtcdClient.Utf8(prefix),
            RangeEnd = EtcdClient.PrefixEnd(prefix),
            StartRevision = startRevision,
        },
    };

    /// <summary>Cancels one watch; the server answers with a batch whose <see cref="EtcdWatchBatch.Canceled"/> is true.</summary>
    public void Cancel(long watchId) =>
        _call.Send(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = watchId } });

    /// <summary>Responses as they arrive; ends when the server closes the stream, throws <see cref="EtcdException"/> when it fails.</summary>
    public async IAsyncEnumerable<EtcdWatchBatch> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            WatchResponse? response = await _call.ReadAsync(WatchResponse.Parser, cancellationToken).ConfigureAwait(false);
            if (response is null)
                yield break;
            yield return ToBatch(response);
        }
    }

    private static EtcdWatchBatch ToBatch(WatchResponse response)
    {
        var events = ImmutableArray.CreateBuilder<EtcdEvent>(response.Events.Count);
        foreach (Event e in response.Events)
        {
            KeyValue kv = e.Kv ?? new KeyValue();
            events.Add(new EtcdEvent(
                e.Type == Event.Types.EventType.Delete ? EtcdEventType.Delete : EtcdEventType.Put,
                kv.Key.ToStringUtf8(),
                e.Type == Event.Types.EventType.Delete ? "" : kv.Value.ToStringUtf8(),
                kv.ModRevision));
        }
        return new EtcdWatchBatch(response.WatchId, response.Header?.Revision ?? 0, response.Created, response.Canceled,
            response.CompactRevision, response.CancelReason, events.MoveToImmutable());
    }

    public ValueTask DisposeAsync() => _call.DisposeAsync();
}
