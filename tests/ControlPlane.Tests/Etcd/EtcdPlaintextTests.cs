using FastPath.ControlPlane.Etcd;

namespace FastPath.ControlPlane.Tests.Etcd;

/// <summary>An http:// endpoint: HTTP/2 with prior knowledge (h2c), no TLS.</summary>
public sealed class EtcdPlaintextTests
{
    [Fact]
    public async Task APlaintextEndpointIsSpokenToOverH2cPriorKnowledge()
    {
        using var server = new EtcdServer("h2c", tls: false);
        using var client = new EtcdClient(server.ClientConfig());
        Assert.Equal("http", new Uri(client.Endpoint).Scheme);
        long revision = await client.PutAsync("p/k", "v");
        await using EtcdWatchStream watch = await client.WatchAsync("p/", revision);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (EtcdWatchBatch batch in watch.ReadAllAsync(timeout.Token))
        {
            if (batch.Events.Length > 0)
            {
                Assert.Equal(("p/k", "v"), (batch.Events[0].Key, batch.Events[0].Value));
                return;
            }
        }
        Assert.Fail("watch ended without the event");
    }
}
