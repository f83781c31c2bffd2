using System.Text;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Tests.Etcd;

namespace FastPath.Convergence;

/// <summary>
/// The measured mesh: N remote clusters (one real etcd each, mTLS), each exporting S global services
/// with B backends in Cilium's exact JSON (SPEC §4); the local cluster has the same S Services in a
/// manifest directory, with no EndpointSlices, so every frontend balances over N × B remote backends.
/// Addresses: service s has ClusterIP 10.96.(s / 256).(s % 256); backend b of service s in cluster c is
/// 10.(100 + c).(i / 256).(i % 256) with i = s × B + b (distinct everywhere).
/// </summary>
internal sealed class MeshWorkload : IDisposable
{
    public const int Port = 8080;
    private readonly List<EtcdServer> _servers = new();

    public MeshWorkload(int clusters, int services, int backends)
    {
        Clusters = clusters;
        Services = services;
        Backends = backends;
        Root = Path.Combine(Path.GetTempPath(), $"fp-convergence-{Guid.NewGuid():N}");
        Directory.CreateDirectory(ManifestDir);
        Directory.CreateDirectory(MeshDir);
        File.WriteAllText(Path.Combine(ManifestDir, "services.yaml"), ServicesYaml());
        for (int c = 1; c <= clusters; c++)
        {
            var server = new EtcdServer($"conv-{ClusterName(c)}");
            _servers.Add(server);
            server.WriteClientConfig(Path.Combine(MeshDir, ClusterName(c)));
        }
    }

    public int Clusters { get; }
    public int Services { get; }
    public int Backends { get; }
    public string Root { get; }
    public string ManifestDir => Path.Combine(Root, "manifests");
    public string MeshDir => Path.Combine(Root, "clustermesh");

    public static string ClusterName(int c) => $"remote{c}";

    public static string ClusterIp(int s) => $"10.96.{s / 256}.{s % 256}";

    public string BackendIp(int c, int s, int b)
    {
        int i = s * Backends + b;
        return $"10.{100 + c}.{i / 256}.{i % 256}";
    }

    /// <summary>A fresh address for update number <paramref name="k"/> (the measured writes), never used before.</summary>
    public static string MarkerIp(int k) => $"10.200.{k / 256 % 256}.{k % 256}";

    public EtcdClient Client(int c) => new(_servers[c - 1].ClientConfig());

    /// <summary>Writes every cluster's config and services, 32 puts in flight per cluster.</summary>
    public async Task PopulateAsync()
    {
        var all = new List<Task>();
        for (int c = 1; c <= Clusters; c++)
        {
            int cluster = c;
            all.Add(Task.Run(async () =>
            {
                using EtcdClient client = Client(cluster);
                await client.PutAsync($"cilium/cluster-config/{ClusterName(cluster)}",
                    $"{{\"id\":{cluster + 1},\"capabilities\":{{\"syncedCanaries\":false,\"maxConnectedClusters\":255,\"cached\":false}}}}");
                using var gate = new SemaphoreSlim(32);
                var puts = new List<Task>();
                for (int s = 0; s < Services; s++)
                {
                    await gate.WaitAsync();
                    int service = s;
                    puts.Add(Task.Run(async () =>
                    {
                        try { await client.PutAsync(ServiceKey(cluster, service), ServiceJson(cluster, service)); }
                        finally { gate.Release(); }
                    }));
                }
                await Task.WhenAll(puts);
            }));
        }
        await Task.WhenAll(all);
    }

    /// <summary>
    /// Rewrites <c>cilium/.heartbeat</c> in every cluster every 30 s, as clustermesh-apiserver does
    /// every minute: without it the watchers reconnect after 2 minutes (SPEC §4) and a long run
    /// would measure re-lists instead of updates.
    /// </summary>
    public IAsyncDisposable StartHeartbeats()
    {
        var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            var clients = Enumerable.Range(1, Clusters).Select(Client).ToList();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    foreach (var client in clients)
                        await client.PutAsync("cilium/.heartbeat", DateTimeOffset.UtcNow.ToString("O"));
                    await Task.Delay(TimeSpan.FromSeconds(30), stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                foreach (var client in clients)
                    client.Dispose();
            }
        });
        return new Heartbeats(stop, loop);
    }

    private sealed class Heartbeats(CancellationTokenSource stop, Task loop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            stop.Cancel();
            await loop;
            stop.Dispose();
        }
    }

    public static string ServiceKey(int c, int s) => $"cilium/state/services/v1/{ClusterName(c)}/default/svc-{s}";

    /// <summary>Cilium's cluster-service JSON; <paramref name="firstBackend"/> replaces backend 0's address (an update).</summary>
    public string ServiceJson(int c, int s, string? firstBackend = null)
    {
        var json = new StringBuilder();
        json.Append($"{{\"cluster\":\"{ClusterName(c)}\",\"namespace\":\"default\",\"name\":\"svc-{s}\",");
        json.Append($"\"frontends\":{{\"{ClusterIp(s)}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":{Port}}}}}}},\"backends\":{{");
        for (int b = 0; b < Backends; b++)
        {
            if (b > 0) json.Append(',');
            json.Append($"\"{(b == 0 && firstBackend is not null ? firstBackend : BackendIp(c, s, b))}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":{Port}}}}}");
        }
        json.Append($"}},\"labels\":{{}},\"selector\":{{\"app\":\"svc-{s}\"}},\"includeExternal\":true,\"shared\":true,\"clusterID\":{c + 1}}}");
        return json.ToString();
    }

    private string ServicesYaml()
    {
        var yaml = new StringBuilder();
        for (int s = 0; s < Services; s++)
        {
            yaml.Append($"""
                ---
                apiVersion: v1
                kind: Service
                metadata:
                  annotations:
                    service.cilium.io/global: "true"
                  name: svc-{s}
                  namespace: default
                spec:
                  clusterIP: {ClusterIp(s)}
                  ports:
                  - port: {Port}
                    protocol: TCP

                """);
        }
        return yaml.ToString();
    }

    public void Dispose()
    {
        foreach (EtcdServer server in _servers)
            server.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
