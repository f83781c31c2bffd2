using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Runtime;
using FastPath.Maglev;
using FastPath.Snapshot;

namespace FastPath.ControlPlane.Tests.Integration;

/// <summary>
/// One integration test's files and control plane: a temp directory with <c>manifests/</c> (the
/// local cluster tokyo, id 1) and <c>clustermesh/</c> (one etcd client config per remote), and
/// planes built on them with short debounce, rescan and backoff so steps converge in milliseconds.
/// The last published snapshot is kept in <see cref="Latest"/>. Removed on dispose.
/// </summary>
internal sealed class PlaneWorld : IDisposable
{
    public const string Tokyo = "tokyo";
    private ForwardingSnapshot? _latest;

    public PlaneWorld(string name)
    {
        Root = Path.Combine(Path.GetTempPath(), $"fp-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Manifests);
        Directory.CreateDirectory(MeshDir);
    }

    public string Root { get; }
    public string Manifests => Path.Combine(Root, "manifests");
    public string MeshDir => Path.Combine(Root, "clustermesh");
    public ForwardingSnapshot? Latest => Volatile.Read(ref _latest);

    /// <param name="kvstoreConfig">tokyo's own kvstore (identities, ipcache), or none.</param>
    /// <param name="log">Where the plane's log lines go (dropped when null).</param>
    public MeshControlPlane CreatePlane(string? kvstoreConfig = null, Action<string>? log = null) => new(new MeshControlPlaneOptions
    {
        KvstoreConfigFile = kvstoreConfig,
        ClusterName = Tokyo,
        ClusterId = 1,
        Maglev = MaglevParameters.Create(251, MaglevParameters.DefaultSeedBase64),
        Kubernetes = new ManifestDirectorySource(Manifests, debounce: TimeSpan.FromMilliseconds(20), rescanInterval: TimeSpan.FromSeconds(1)),
        ClusterMeshConfigDirectory = MeshDir,
        ConfigRescanInterval = TimeSpan.FromSeconds(1),
        Watcher = new KvstoreWatcherOptions
        {
            BackoffUnit = TimeSpan.FromMilliseconds(200),
            Client = new EtcdClientOptions { DialTimeout = TimeSpan.FromSeconds(1), RequestTimeout = TimeSpan.FromSeconds(3) },
            Log = _ => { },
        },
        Log = log ?? (_ => { }),
    }, snapshot => Volatile.Write(ref _latest, snapshot));

    /// <summary>Replaces a file atomically (the watchers never read half of it), as a step's change.</summary>
    public static Task Write(string path, string text)
    {
        AtomicFile.Replace(path, text);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
