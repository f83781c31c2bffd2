using FastPath.ControlPlane.Etcd;

namespace FastPath.ControlPlane.Tests.Etcd;

/// <summary>The gRPC-over-HTTP/2 client against a real etcd with client-certificate TLS.</summary>
public sealed class EtcdClientTests : IDisposable
{
    private static readonly TimeSpan WatchWait = TimeSpan.FromSeconds(10);
    private readonly EtcdServer _server = new("client");

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task PutRangeDeleteAndStatusRoundTripOverMutualTls()
    {
        using var client = new EtcdClient(_server.ClientConfig());
        EtcdStatus status = await client.StatusAsync();
        Assert.StartsWith("3.", status.Version);

        long rev1 = await client.PutAsync("t/a/1", "one");
        long rev2 = await client.PutAsync("t/a/2", "two");
        await client.PutAsync("t/b", "other");
        Assert.True(rev2 > rev1);

        EtcdRangeResult range = await client.RangePrefixAsync("t/a/");
        Assert.Equal(new[] { "t/a/1", "t/a/2" }, range.Kvs.Select(kv => kv.Key));
        Assert.Equal(new[] { "one", "two" }, range.Kvs.Select(kv => kv.Value));
        Assert.True(range.Revision >= rev2);

        Assert.Equal(1, await client.DeleteAsync("t/a/1"));
        Assert.Null(await client.GetAsync("t/a/1"));
        Assert.Equal("two", (await client.GetAsync("t/a/2"))!.Value);
    }

    [Fact]
    public async Task WatchStreamsPutsAndDeletesUnderThePrefixOnly()
    {
        using var client = new EtcdClient(_server.ClientConfig());
        long start = await client.PutAsync("w/x", "before");
        await using EtcdWatchStream watch = await client.WatchAsync("w/", start + 1);
        using var timeout = new CancellationTokenSource(WatchWait);
        var events = new List<EtcdEvent>();
        bool created = false;
        await foreach (EtcdWatchBatch batch in watch.ReadAllAsync(timeout.Token))
        {
            if (batch.Created)
            {
                created = true;
                await client.PutAsync("other/y", "ignored");
                await client.PutAsync("w/x", "after");
                await client.DeleteAsync("w/x");
            }
            events.AddRange(batch.Events);
            if (events.Count >= 2)
                break;
        }
        Assert.True(created);
        Assert.Equal(EtcdEventType.Put, events[0].Type);
        Assert.Equal(("w/x", "after"), (events[0].Key, events[0].Value));
        Assert.Equal(EtcdEventType.Delete, events[1].Type);
        Assert.Equal("w/x", events[1].Key);
    }

    [Fact]
    public async Task WatchFromACompactedRevisionIsCancelledWithTheCompactRevision()
    {
        using var client = new EtcdClient(_server.ClientConfig());
        long first = await client.PutAsync("c/k", "1");
        await client.PutAsync("c/k", "2");
        long last = await client.PutAsync("c/k", "3");
        await client.CompactAsync(last);

        await using EtcdWatchStream watch = await client.WatchAsync("c/", first);
        using var timeout = new CancellationTokenSource(WatchWait);
        EtcdWatchBatch? cancelled = null;
        await foreach (EtcdWatchBatch batch in watch.ReadAllAsync(timeout.Token))
        {
            if (batch.Canceled)
            {
                cancelled = batch;
                break;
            }
        }
        Assert.NotNull(cancelled);
        Assert.Equal(last, cancelled!.CompactRevision);
    }

    [Fact]
    public async Task AClientCertificateFromAnotherCaIsRefusedWithAnErrorNamingEndpointAndFile()
    {
        string file = Path.Combine(_server.Root, "rogue.yaml");
        _server.WriteClientConfig(file, _server.Certificates.OtherCaClientCertFile, _server.Certificates.OtherCaClientKeyFile);
        using var client = new EtcdClient(EtcdConfig.Load(file), new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        EtcdException e = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync());
        Assert.Contains(_server.ClientUrl.ToString().TrimEnd('/'), e.Message);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public async Task AClientWithoutACertificateIsRefused()
    {
        string file = Path.Combine(_server.Root, "nocert.yaml");
        File.WriteAllText(file, $"endpoints: [\"{_server.ClientUrl}\"]\ntrusted-ca-file: pki/ca.pem\n");
        using var client = new EtcdClient(EtcdConfig.Load(file), new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        EtcdException e = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync());
        Assert.Contains("Status failed", e.Message);
    }
}
