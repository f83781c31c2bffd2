using System.Collections.Immutable;
using System.Threading.Channels;
using FastPath.ControlPlane.Kubernetes.Manifests;

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// <c>--k8s-manifests DIR</c>: the local cluster's objects from <c>*.yaml</c>/<c>*.yml</c> files in one
/// directory (not recursive; names starting with '.' are skipped, like a ConfigMap mount's <c>..data</c>).
/// <para>
/// Watched with a <see cref="FileSystemWatcher"/>; events are debounced (editors write in several steps),
/// and a periodic rescan catches events the watcher drops (overflow, network filesystems).
/// </para>
/// <para>
/// Errors: at start-up a bad file throws <see cref="ManifestException"/> and start-up stops. While running,
/// a bad file keeps its last good content in force; the error is counted in <see cref="ErrorCount"/> and
/// logged once (again only if the error changes). Duplicate namespace/name objects across files: the file
/// whose name sorts first wins, with a warning.
/// </para>
/// </summary>
public sealed class ManifestDirectorySource : IKubernetesSource
{
    public const string Flag = "--k8s-manifests";

    /// <summary>Quiet time after the last file event before rescanning, in ms.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(200);

    /// <summary>Safety-net rescan period when no file event arrives.</summary>
    public static readonly TimeSpan DefaultRescanInterval = TimeSpan.FromSeconds(10);

    private readonly string _directory;
    private readonly TimeSpan _debounce;
    private readonly TimeSpan _rescanInterval;
    private readonly Action<ManifestLogLevel, string>? _log;

    // One pending "something changed" token; extra signals collapse into it.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // Only the scan loop touches _files (and StartAsync before the loop exists).
    private readonly Dictionary<string, FileEntry> _files = new(StringComparer.Ordinal);

    private KubernetesObjects _current = KubernetesObjects.Empty;
    private long _errorCount;
    private ImmutableSortedDictionary<string, string> _fileErrors = ImmutableSortedDictionary<string, string>.Empty;
    private FileSystemWatcher? _watcher;
    private CancellationTokenSource? _stop;
    private Task _loop = Task.CompletedTask;

    public ManifestDirectorySource(
        string directory,
        Action<ManifestLogLevel, string>? log = null,
        TimeSpan? debounce = null,
        TimeSpan? rescanInterval = null)
    {
        _directory = Path.GetFullPath(directory);
        _log = log;
        _debounce = debounce ?? DefaultDebounce;
        _rescanInterval = rescanInterval ?? DefaultRescanInterval;
    }

    public KubernetesObjects Current => Volatile.Read(ref _current);

    public event EventHandler<KubernetesObjects>? Changed;

    /// <summary>Errors seen while running; each bad version of a file counts once, however many rescans see it.</summary>
    public long ErrorCount => Interlocked.Read(ref _errorCount);

    /// <summary>Files whose current content is rejected (their last good content stays in force), with the error.</summary>
    public ImmutableSortedDictionary<string, string> FileErrors => Volatile.Read(ref _fileErrors);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_directory))
            throw new ManifestException(_directory, 0, "", $"{Flag}: directory does not exist");

        // Watch before the first read so a change made during it is not lost.
        _watcher = new FileSystemWatcher(_directory) { IncludeSubdirectories = false };
        _watcher.Filters.Add("*.yaml");
        _watcher.Filters.Add("*.yml");
        _watcher.Changed += OnFileEvent;
        _watcher.Created += OnFileEvent;
        _watcher.Deleted += OnFileEvent;
        _watcher.Renamed += OnFileEvent;
        _watcher.Error += (_, _) => _wake.Writer.TryWrite(true);
        _watcher.EnableRaisingEvents = true;

        try
        {
            Scan(startup: true);
        }
        catch
        {
            _watcher.Dispose();
            _watcher = null;
            throw;
        }

        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        await Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        if (_stop is not null)
        {
            await _stop.CancelAsync();
            try { await _loop; } catch (OperationCanceledException) { }
            _stop.Dispose();
        }
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => _wake.Writer.TryWrite(true);

    private async Task RunAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                timeout.CancelAfter(_rescanInterval);
                try
                {
                    await _wake.Reader.ReadAsync(timeout.Token);
                    // Debounce: wait until the events stop for a moment.
                    while (true)
                    {
                        await Task.Delay(_debounce, token);
                        if (!_wake.Reader.TryRead(out _))
                            break;
                    }
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    // Periodic safety-net rescan.
                }
            }
            if (token.IsCancellationRequested)
                return;
            try
            {
                Scan(startup: false);
            }
            catch (Exception e)
            {
                // The directory itself went away or became unreadable (or a bug): keep the last
                // snapshot and keep watching rather than let the loop die silently.
                Log(ManifestLogLevel.Error, $"{Flag} {_directory}: {e.Message}; keeping the last objects");
                Interlocked.Increment(ref _errorCount);
            }
        }
    }

    /// <summary>Reads every file, re-parses the changed ones, and publishes a new snapshot when anything changed.</summary>
    private void Scan(bool startup)
    {
        var names = Directory.EnumerateFiles(_directory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(IsManifestName)
            .ToHashSet(StringComparer.Ordinal);

        bool changed = false;
        bool recheck = false;
        foreach (var gone in _files.Keys.Where(n => !names.Contains(n)).ToList())
        {
            _files.Remove(gone);
            changed = true;
        }

        foreach (var name in names)
        {
            string text;
            try
            {
                string fullPath = Path.Combine(_directory, name);
                // A file written within the debounce window may be half written (writers that do not
                // replace files by rename): look again after the next quiet period instead.
                var age = DateTime.UtcNow - File.GetLastWriteTimeUtc(fullPath);
                // (A time stamp in the future — clock skew, touch -d — must not defer the file forever.)
                if (!startup && age >= TimeSpan.Zero && age < _debounce)
                {
                    recheck = true;
                    continue;
                }
                text = File.ReadAllText(fullPath);
            }
            catch (Exception e) when (!startup && e is IOException or UnauthorizedAccessException)
            {
                continue; // removed or being replaced right now; the next event or rescan settles it
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ManifestException(name, 0, "", $"cannot read: {e.Message}", e);
            }

            _files.TryGetValue(name, out var entry);
            if (entry is not null && entry.Text == text)
                continue;
            try
            {
                var content = ManifestParser.Parse(name, text, m => Log(ManifestLogLevel.Debug, m));
                _files[name] = new FileEntry(text, content, Error: null);
                changed = true;
            }
            catch (ManifestException e) when (!startup)
            {
                // Keep the last good content; remember the bad text so it is reported once.
                _files[name] = new FileEntry(text, entry?.Content ?? ManifestFileContent.Empty, e.Message);
                Interlocked.Increment(ref _errorCount);
                Log(ManifestLogLevel.Error, $"{e.Message} (keeping the file's last good content)");
            }
        }

        if (recheck)
            _wake.Writer.TryWrite(true);

        Volatile.Write(ref _fileErrors, _files
            .Where(f => f.Value.Error is not null)
            .ToImmutableSortedDictionary(f => f.Key, f => f.Value.Error!, StringComparer.Ordinal));

        if (!changed && !startup)
            return;
        var snapshot = Build(Current.Generation + 1);
        Volatile.Write(ref _current, snapshot);
        if (!startup)
            RaiseChanged(snapshot);
    }

    private void RaiseChanged(KubernetesObjects snapshot)
    {
        try
        {
            Changed?.Invoke(this, snapshot);
        }
        catch (Exception e)
        {
            // A failing subscriber must not stop the watch loop; the snapshot is published regardless.
            Interlocked.Increment(ref _errorCount);
            Log(ManifestLogLevel.Error, $"{Flag}: a Changed handler failed: {e.Message}");
        }
    }

    private KubernetesObjects Build(long generation)
    {
        var services = new SortedDictionary<(string, string), LocalService>();
        var slices = new SortedDictionary<(string, string), LocalEndpointSlice>();
        var policies = ImmutableArray.CreateBuilder<PolicyDocument>();
        foreach (var (name, entry) in _files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            foreach (var service in entry.Content.Services)
                AddFirst(services, (service.Name.Namespace, service.Name.Name), service, "Service", service.Source);
            foreach (var slice in entry.Content.EndpointSlices)
                AddFirst(slices, (slice.Namespace, slice.Name), slice, "EndpointSlice", slice.Source);
            policies.AddRange(entry.Content.Policies);
        }
        return new KubernetesObjects(generation, [.. services.Values], [.. slices.Values], policies.ToImmutable());
    }

    private void AddFirst<T>(SortedDictionary<(string, string), T> into, (string Ns, string Name) key, T value, string kind, ManifestLocation source)
    {
        if (into.TryAdd(key, value))
            return;
        Log(ManifestLogLevel.Warning, $"{source}: duplicate {kind} {key.Ns}/{key.Name} ignored (an earlier file defines it)");
    }

    private static bool IsManifestName(string name) =>
        !name.StartsWith('.')
        && (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase));

    private void Log(ManifestLogLevel level, string message) => _log?.Invoke(level, message);

    /// <param name="Text">The file's last read text (good or bad), to skip re-parsing unchanged files.</param>
    /// <param name="Content">The last good content.</param>
    private sealed record FileEntry(string Text, ManifestFileContent Content, string? Error);
}
