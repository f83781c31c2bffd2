using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Tests.Etcd;

namespace FastPath.ControlPlane.Tests.KubernetesApi;

/// <summary>
/// One test's world: a temp directory with a throw-away PKI, the fake API server on 127.0.0.1 and a client
/// config trusting only that CA. Backoff and coalescing are shortened so reconnects happen in milliseconds.
/// Everything is removed on dispose, even when the test failed.
/// </summary>
internal sealed class ApiTestEnvironment : IAsyncDisposable
{
    public static readonly KubeApiSourceOptions FastOptions = new()
    {
        PageSize = 500,
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(400),
        CoalesceDelay = TimeSpan.FromMilliseconds(20),
        RequestTimeout = TimeSpan.FromSeconds(10),
    };

    private readonly List<ApiServerSource> _sources = [];

    private ApiTestEnvironment(string directory, TestCertificates certificates, FakeKubeApiServer server)
    {
        Directory = directory;
        Certificates = certificates;
        Server = server;
    }

    public string Directory { get; }
    public TestCertificates Certificates { get; }
    public FakeKubeApiServer Server { get; }

    /// <summary>Log lines the source wrote, for assertions on what it reports.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public static async Task<ApiTestEnvironment> StartAsync(bool requireClientCertificate = false)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"fp-kubeapi-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            var certificates = new TestCertificates(Path.Combine(directory, "pki"));
            var server = await FakeKubeApiServer.StartAsync(certificates, requireClientCertificate);
            return new ApiTestEnvironment(directory, certificates, server);
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public KubeClientConfig Config(string? token = FakeKubeApiServer.Token)
    {
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(Certificates.CaFile);
        return new KubeClientConfig(Server.Server, ca, null,
            token is null ? KubeTokenSource.None : KubeTokenSource.Fixed(token), "default", false, "test config");
    }

    /// <summary>A source on <paramref name="config"/> (default <see cref="Config"/>), disposed with the environment.</summary>
    public ApiServerSource Source(KubeClientConfig? config = null, KubeApiSourceOptions? options = null)
    {
        var source = new ApiServerSource(config ?? Config(), (options ?? FastOptions) with
        {
            Log = (level, message) => Log.Enqueue($"{level}: {message}"),
        });
        _sources.Add(source);
        return source;
    }

    public string LogText => string.Join("\n", Log);

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var source in _sources)
                await source.DisposeAsync();
            await Server.DisposeAsync();
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    public static string Describe(KubernetesObjects objects) =>
        $"services [{string.Join(", ", objects.Services.Select(s => s.Name))}], " +
        $"slices [{string.Join(", ", objects.EndpointSlices.Select(s => $"{s.Namespace}/{s.Name}:{string.Join("+", s.Endpoints.SelectMany(e => e.Addresses))}"))}], " +
        $"policies [{string.Join(", ", objects.Policies.Select(p => $"{p.Kind}:{p.Namespace}/{p.Name}"))}]";
}
