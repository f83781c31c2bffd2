using FastPath.Addressing;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Tests.Etcd;
using static FastPath.ControlPlane.Tests.Kvstore.CiliumKeys;

namespace FastPath.ControlPlane.Tests.Kvstore;

/// <summary>
/// <c>--clustermesh-config DIR</c> followed at runtime:
/// <code>
///   DIR/hk ──(endpoint A, later B)──► etcd A | etcd B   (both hold cluster "hk", different services)
///   DIR/tokyo (own cluster), DIR/README (no endpoints:) ──► ignored
/// </code>
/// </summary>
public sealed class ClusterMeshConfigDirectoryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"fp-cmdir-{Guid.NewGuid():N}");

    public ClusterMeshConfigDirectoryTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task AddingChangingAndRemovingFilesConnectsReconnectsAndDrains()
    {
        using var serverA = new EtcdServer("dira");
        using var serverB = new EtcdServer("dirb");
        using (var a = new EtcdClient(serverA.ClientConfig()))
        {
            await a.PutAsync(ClusterConfigKey("hk"), ClusterConfig(2));
            await a.PutAsync(ServiceKey("hk", "default", "from-a"), Service("hk", 2, "default", "from-a", "10.245.2.1"));
        }
        using (var b = new EtcdClient(serverB.ClientConfig()))
        {
            await b.PutAsync(ClusterConfigKey("hk"), ClusterConfig(2));
            await b.PutAsync(ServiceKey("hk", "default", "from-b"), Service("hk", 2, "default", "from-b", "10.245.2.2"));
        }
        File.WriteAllText(Path.Combine(_dir, "README"), "not a cluster config\n");
        var options = new KvstoreWatcherOptions
        {
            BackoffUnit = TimeSpan.FromMilliseconds(100),
            Client = new EtcdClientOptions { DialTimeout = TimeSpan.FromSeconds(1), RequestTimeout = TimeSpan.FromSeconds(3) },
            Log = _ => { },
        };
        await using var mesh = new ClusterMeshConfigDirectory(_dir, "tokyo", options, rescanInterval: TimeSpan.FromSeconds(1));
        mesh.Start();
        Assert.Empty(mesh.Clusters);

        // The own cluster's file is ignored even though it is a valid config.
        serverA.WriteClientConfig(Path.Combine(_dir, "tokyo"));
        serverA.WriteClientConfig(Path.Combine(_dir, "hk"));
        await Wait.UntilAsync(() => mesh.Clusters.TryGetValue("hk", out var s) && s.Services.ContainsKey("default/from-a"),
            "hk connected through endpoint A", state: () => string.Join("; ", mesh.Statuses.Values));
        Assert.Equal(new[] { "hk" }, mesh.Clusters.Keys);
        Assert.True(mesh.Statuses["hk"].Ready);

        serverB.WriteClientConfig(Path.Combine(_dir, "hk"));
        await Wait.UntilAsync(() => mesh.Clusters["hk"].Services.ContainsKey("default/from-b")
                && !mesh.Clusters["hk"].Services.ContainsKey("default/from-a"),
            "hk reconnected to endpoint B and re-listed", state: () => string.Join("; ", mesh.Statuses.Values));
        Assert.Equal(serverB.ClientUrl.ToString().TrimEnd('/'), mesh.Statuses["hk"].Endpoint);

        File.Delete(Path.Combine(_dir, "hk"));
        await Wait.UntilAsync(() => mesh.Clusters.IsEmpty && mesh.Statuses.IsEmpty, "hk drained");
        Assert.True(mesh.Updates.TryRead(out var last));
        Assert.Empty(last!);
    }

    [Fact]
    public async Task ABrokenConfigFileIsReportedNamingTheFileAndIsRetriedWhenFixed()
    {
        using var server = new EtcdServer("dirbad");
        using (var etcd = new EtcdClient(server.ClientConfig()))
        {
            await etcd.PutAsync(ClusterConfigKey("sg"), ClusterConfig(3));
            await etcd.PutAsync(ServiceKey("sg", "default", "web"), Service("sg", 3, "default", "web", "10.246.0.9"));
        }
        string file = Path.Combine(_dir, "sg");
        File.WriteAllText(file, "endpoints: [https://127.0.0.1:1\ncert-file: x\n");
        var options = new KvstoreWatcherOptions { BackoffUnit = TimeSpan.FromMilliseconds(100), Log = _ => { } };
        await using var mesh = new ClusterMeshConfigDirectory(_dir, "tokyo", options, rescanInterval: TimeSpan.FromSeconds(1));
        mesh.Start();
        Assert.Contains(file, mesh.ConfigErrors["sg"]);
        Assert.Empty(mesh.Clusters);

        server.WriteClientConfig(file);
        await Wait.UntilAsync(() => mesh.Clusters.TryGetValue("sg", out var s) && s.Services.ContainsKey("default/web"), "sg connected");
        Assert.Empty(mesh.ConfigErrors);
        Assert.Equal(NetAddress.Parse("10.246.0.9"), mesh.Clusters["sg"].Services["default/web"].Backends.Single().Key);
    }
}
