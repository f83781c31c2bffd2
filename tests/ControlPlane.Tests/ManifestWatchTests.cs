using System.Diagnostics;
using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Kubernetes;

namespace FastPath.ControlPlane.Tests;

/// <summary>
/// The --k8s-manifests directory at runtime: files added, changed, broken and removed while the source
/// runs, in a fresh temporary directory per test. Every wait is bounded.
/// </summary>
public sealed class ManifestWatchTests : IAsyncLifetime
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"fp-manifests-{Guid.NewGuid():N}");
    private readonly List<string> _log = [];
    private ManifestDirectorySource _source = null!;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _source = NewSource(debounce: TimeSpan.FromMilliseconds(50));
        return Task.CompletedTask;
    }

    private ManifestDirectorySource NewSource(TimeSpan debounce) => new(
        _dir, (level, message) => { lock (_log) _log.Add($"{level}: {message}"); },
        debounce: debounce, rescanInterval: TimeSpan.FromMilliseconds(300));

    public async Task DisposeAsync()
    {
        await _source.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Service(string name, string ip, int port) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
          annotations:
            service.cilium.io/global: "true"
        spec:
          clusterIP: {ip}
          ports:
          - port: {port}
        """;

    /// <summary>Replaces a file atomically: a half-written file would count as an extra error.</summary>
    private Task WriteAsync(string name, string text)
    {
        AtomicFile.Replace(Path.Combine(_dir, name), text);
        return Task.CompletedTask;
    }

    private async Task<KubernetesObjects> WaitForAsync(Func<KubernetesObjects, bool> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (DateTime.UtcNow < deadline)
        {
            var current = _source.Current;
            if (condition(current))
                return current;
            await Task.Delay(20);
        }
        throw new TimeoutException($"condition not met within {WaitLimit.TotalSeconds} s; services: " +
            string.Join(", ", _source.Current.Services.Select(s => $"{s.Name}:{s.Ports[0].Port}")));
    }

    [Fact]
    public async Task Files_added_changed_and_removed_at_runtime_change_the_snapshot()
    {
        await WriteAsync("a.yaml", Service("alpha", "10.96.0.1", 80));
        await _source.StartAsync(CancellationToken.None);
        Assert.Equal(["alpha"], _source.Current.Services.Select(s => s.Name.Name));
        long startGeneration = _source.Current.Generation;

        var changed = new TaskCompletionSource<KubernetesObjects>(TaskCreationOptions.RunContinuationsAsynchronously);
        _source.Changed += (_, objects) => changed.TrySetResult(objects);

        await WriteAsync("b.yml", Service("beta", "10.96.0.2", 81));
        var afterAdd = await WaitForAsync(o => o.Services.Length == 2);
        Assert.Equal(["alpha", "beta"], afterAdd.Services.Select(s => s.Name.Name));
        Assert.True(afterAdd.Generation > startGeneration);
        var raised = await changed.Task.WaitAsync(WaitLimit);
        Assert.Contains(raised.Services, s => s.Name.Name == "beta");

        await WriteAsync("a.yaml", Service("alpha", "10.96.0.1", 8080));
        await WaitForAsync(o => o.Services.Any(s => s.Name.Name == "alpha" && s.Ports[0].Port == 8080));

        File.Delete(Path.Combine(_dir, "b.yml"));
        var afterRemove = await WaitForAsync(o => o.Services.Length == 1);
        Assert.Equal("alpha", afterRemove.Services[0].Name.Name);
        Assert.Equal(0, _source.ErrorCount);
    }

    [Fact]
    public async Task A_file_broken_while_running_keeps_its_last_good_content_and_is_reported_once()
    {
        await WriteAsync("svc.yaml", Service("alpha", "10.96.0.1", 80));
        await _source.StartAsync(CancellationToken.None);

        await WriteAsync("svc.yaml", Service("alpha", "10.96.0.1", 80).Replace("port: 80", "port: http"));
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!_source.FileErrors.ContainsKey("svc.yaml") && DateTime.UtcNow < deadline)
            await Task.Delay(20);

        Assert.Equal(1, _source.ErrorCount);
        Assert.Equal(80, _source.Current.Services.Single().Ports[0].Port);
        Assert.Equal("svc.yaml doc 1: spec.ports[0].port: expected an integer 1-65535, got \"http\"", _source.FileErrors["svc.yaml"]);

        // Several periodic rescans later the same error has not been counted or logged again.
        await Task.Delay(TimeSpan.FromMilliseconds(1000));
        Assert.Equal(1, _source.ErrorCount);
        lock (_log)
            Assert.Single(_log, line => line.StartsWith("Error: svc.yaml doc 1", StringComparison.Ordinal));

        // Fixing the file clears the error and applies the new content.
        await WriteAsync("svc.yaml", Service("alpha", "10.96.0.1", 9090));
        await WaitForAsync(o => o.Services.Single().Ports[0].Port == 9090);
        Assert.Empty(_source.FileErrors);
    }

    [Fact]
    public async Task A_file_written_in_place_in_two_steps_is_applied_once_complete()
    {
        // A wider debounce window than the other tests: the 10 ms between the two writes must stay
        // inside it even when the test thread is descheduled on a loaded machine.
        await _source.DisposeAsync();
        _source = NewSource(debounce: TimeSpan.FromMilliseconds(500));
        await _source.StartAsync(CancellationToken.None);
        string full = Service("gamma", "10.96.0.3", 443);
        string path = Path.Combine(_dir, "in-place.yaml");

        // Half the text first (a broken document), the rest 10 ms later: within the debounce window.
        // Both writes on this thread, without an await between them: a continuation waits for a
        // thread-pool thread, and with the other suites blocking pool threads that took over 500 ms
        // once (CI), so the half-written file aged past the window and was parsed.
        var gap = Stopwatch.StartNew();
        File.WriteAllText(path, full[..(full.Length / 2)]);
        Thread.Sleep(10);
        File.WriteAllText(path, full);
        gap.Stop();

        var objects = await WaitForAsync(o => o.Services.Length == 1);
        Assert.Equal(443, objects.Services[0].Ports[0].Port);
        Assert.True(_source.ErrorCount == 0, $"the half-written file was parsed; the two writes were {gap.ElapsedMilliseconds} ms apart");
    }

    [Fact]
    public async Task A_service_defined_in_two_files_is_taken_from_the_file_sorting_first_with_a_warning()
    {
        await WriteAsync("10-first.yaml", Service("alpha", "10.96.0.1", 80));
        await WriteAsync("20-second.yaml", Service("alpha", "10.96.0.1", 81));

        await _source.StartAsync(CancellationToken.None);

        Assert.Equal(80, _source.Current.Services.Single().Ports[0].Port);
        lock (_log)
            Assert.Contains(_log, l => l.StartsWith("Warning: 20-second.yaml doc 1: duplicate Service default/alpha", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_malformed_file_at_start_up_stops_start_up_with_its_location()
    {
        await WriteAsync("ok.yaml", Service("alpha", "10.96.0.1", 80));
        await File.WriteAllTextAsync(Path.Combine(_dir, "bad.yaml"),
            Service("alpha", "10.96.0.1", 80) + "\n---\n" + Service("beta", "10.96.0.300", 80));

        var error = await Assert.ThrowsAsync<ManifestException>(() => _source.StartAsync(CancellationToken.None));

        Assert.Equal("bad.yaml doc 2: spec.clusterIP: expected an IPv4 or IPv6 address, got \"10.96.0.300\"", error.Message);
    }

    [Fact]
    public async Task A_missing_directory_stops_start_up_naming_the_flag()
    {
        await using var source = new ManifestDirectorySource(Path.Combine(_dir, "absent"));

        var error = await Assert.ThrowsAsync<ManifestException>(() => source.StartAsync(CancellationToken.None));

        Assert.Contains("--k8s-manifests", error.Message, StringComparison.Ordinal);
    }
}
