using System.Collections.Immutable;
using System.Text;
using FastPath.ControlPlane.Etcd.Protos;
using Google.Protobuf;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// A small etcd v3 client: KV Range/Put/DeleteRange/Compact, Maintenance.Status and Watch,
/// spoken as gRPC over one HTTP/2 connection (mTLS for https://, h2c for http://).
/// </summary>
public sealed class EtcdClient : IDisposable
{
    private const string RangeMethod = "/etcdserverpb.KV/Range";
    private const string PutMethod = "/etcdserverpb.KV/Put";
    private const string DeleteMethod = "/etcdserverpb.KV/DeleteRange";
    private const string CompactMethod = "/etcdserverpb.KV/Compact";
    private const string StatusMethod = "/etcdserverpb.Maintenance/Status";
    private const string WatchMethod = "/etcdserverpb.Watch/Watch";

    private readonly GrpcChannel _channel;

    /// <param name="endpointIndex">Which of the config's endpoints to use (taken modulo their count), so reconnects can rotate.</param>
    public EtcdClient(EtcdConfig config, EtcdClientOptions? options = null, int endpointIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Endpoints.IsDefaultOrEmpty)
            throw new EtcdException($"etcd config {config.SourceFile}: no endpoints", configFile: config.SourceFile);
        Uri endpoint = config.Endpoints[(int)((uint)endpointIndex % (uint)config.Endpoints.Length)];
        _channel = new GrpcChannel(config, endpoint, options ?? new EtcdClientOptions());
    }

    /// <summary>The endpoint this client talks to.</summary>
    public string Endpoint => _channel.Endpoint;

    /// <summary>All keys starting with <paramref name="prefix"/>, optionally at a past revision (0 = latest).</summary>
    public async Task<EtcdRangeResult> RangePrefixAsync(string prefix, long revision = 0, CancellationToken cancellationToken = default)
    {
        var request = new RangeRequest { Key = Utf8(prefix), RangeEnd = PrefixEnd(prefix), Revision = revision };
        RangeResponse response = await _channel.UnaryAsync(RangeMethod, request, RangeResponse.Parser, cancellationToken).ConfigureAwait(false);
        return ToRange(response);
    }

    /// <summary>One key, or null when it does not exist.</summary>
    public async Task<EtcdKeyValue?> GetAsync(string key, long revision = 0, CancellationToken cancellationToken = default)
    {
        var request = new RangeRequest { Key = Utf8(key), Revision = revision };
        RangeResponse response = await _channel.UnaryAsync(RangeMethod, request, RangeResponse.Parser, cancellationToken).ConfigureAwait(false);
        EtcdRangeResult result = ToRange(response);
        return result.Kvs.IsEmpty ? null : result.Kvs[0];
    }

    /// <summary>Writes a key; returns the new store revision.</summary>
    public async Task<long> PutAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        var request = new PutRequest { Key = Utf8(key), Value = Utf8(value) };
        PutResponse response = await _channel.UnaryAsync(PutMethod, request, PutResponse.Parser, cancellationToken).ConfigureAwait(false);
        return response.Header?.Revision ?? 0;
    }

    /// <summary>Deletes one key; returns how many keys went (0 or 1).</summary>
    public Task<long> DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        DeleteRangeAsync(new DeleteRangeRequest { Key = Utf8(key) }, cancellationToken);

    /// <summary>Deletes every key under a prefix; returns how many went.</summary>
    public Task<long> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        DeleteRangeAsync(new DeleteRangeRequest { Key = Utf8(prefix), RangeEnd = PrefixEnd(prefix) }, cancellationToken);

    private async Task<long> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancellationToken)
    {
        DeleteRangeResponse response = await _channel.UnaryAsync(DeleteMethod, request, DeleteRangeResponse.Parser, cancellationToken).ConfigureAwait(false);
        return response.Deleted;
    }

    /// <summary>Discards history up to <paramref name="revision"/>; watches starting before it get a compaction cancel.</summary>
    public async Task CompactAsync(long revision, bool physical = true, CancellationToken cancellationToken = default)
    {
        var request = new CompactionRequest { Revision = revision, Physical = physical };
        await _channel.UnaryAsync(CompactMethod, request, CompactionResponse.Parser, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Member status; a cheap call that proves the connection (TLS included) works.</summary>
    public async Task<EtcdStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        StatusResponse response = await _channel.UnaryAsync(StatusMethod, new StatusRequest(), StatusResponse.Parser, cancellationToken).ConfigureAwait(false);
        return new EtcdStatus(response.Version, response.Header?.Revision ?? 0, response.Header?.MemberId ?? 0,
            response.Leader, response.DbSize);
    }

    /// <summary>
    /// Opens one Watch stream and creates a watch per prefix on it, all from <paramref name="startRevision"/>
    /// (0 = from now). More watches can be added and cancelled on the returned stream.
    /// </summary>
    public async Task<EtcdWatchStream> WatchAsync(IReadOnlyList<string> prefixes, long startRevision, CancellationToken cancellationToken = default)
    {
        var creates = new List<IMessage>(prefixes.Count);
        foreach (string prefix in prefixes)
            creates.Add(EtcdWatchStream.CreateRequest(prefix, startRevision));
        DuplexCall call = await _channel.OpenDuplexAsync(WatchMethod, creates, cancellationToken).ConfigureAwait(false);
        return new EtcdWatchStream(call);
    }

    /// <summary>Single-prefix convenience form of <see cref="WatchAsync(IReadOnlyList{string}, long, CancellationToken)"/>.</summary>
    public Task<EtcdWatchStream> WatchAsync(string prefix, long startRevision, CancellationToken cancellationToken = default) =>
        WatchAsync(new[] { prefix }, startRevision, cancellationToken);

    internal static ByteString Utf8(string text) => ByteString.CopyFrom(Encoding.UTF8.GetBytes(text));

    /// <summary>etcd's prefix range end: the prefix with its last byte incremented (carrying over 0xff).</summary>
    internal static ByteString PrefixEnd(string prefix)
    {
        byte[] end = Encoding.UTF8.GetBytes(prefix);
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0); // "\0" = to the end of the key space
    }

    internal static EtcdKeyValue ToKeyValue(KeyValue kv) =>
        new(kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8(), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);

    private static EtcdRangeResult ToRange(RangeResponse response)
    {
        var kvs = ImmutableArray.CreateBuilder<EtcdKeyValue>(response.Kvs.Count);
        foreach (KeyValue kv in response.Kvs)
            kvs.Add(ToKeyValue(kv));
        return new EtcdRangeResult(response.Header?.Revision ?? 0, kvs.MoveToImmutable());
    }

    public void Dispose() => _channel.Dispose();
}
