using FastPath.ControlPlane;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Static;

namespace FastPath.Agent;

/// <summary>
/// Standalone mode's source: `--services FILE`, re-read when it changes (polled: editors replace
/// files in ways a FileSystemWatcher can miss). A bad edit is logged once and the last good state
/// stays in force; only a bad file at start-up stops the agent.
/// A change is applied only once two polls in a row read the same text, so a file caught while
/// it is being written (truncated, half there) is never parsed; and only a good load takes a
/// revision, so revisions count what was published.
/// </summary>
internal sealed class ServicesFileSource : IDisposable
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _path;
    private readonly string _clusterName;
    private readonly Action<DesiredState> _onChange;
    private readonly Action<string> _onError;
    private readonly Timer? _timer;
    private FileText _applied;
    private FileText _seen;
    private long _revision;
    private int _polling;

    /// <param name="pollInterval"><see cref="Timeout.InfiniteTimeSpan"/>: no timer; the owner calls <see cref="Poll"/>.</param>
    public ServicesFileSource(string path, string clusterName, Action<DesiredState> onChange, Action<string> onError, TimeSpan pollInterval)
    {
        _path = path;
        _clusterName = clusterName;
        _onChange = onChange;
        _onError = onError;
        _applied = _seen = FileText.Read(path);
        // Start-up: errors propagate (ConfigFileException names the file and the problem).
        _onChange(Load(_applied));
        _revision = 1;
        if (pollInterval != Timeout.InfiniteTimeSpan)
            _timer = new Timer(_ => Poll(), null, pollInterval, pollInterval);
    }

    public ServicesFileSource(string path, string clusterName, Action<DesiredState> onChange)
        : this(path, clusterName, onChange, message => AgentLog.Error(message), DefaultPollInterval)
    {
    }

    /// <summary>One look at the file: applies a change that has settled since the previous look.</summary>
    internal void Poll()
    {
        if (Interlocked.Exchange(ref _polling, 1) == 1)
            return;
        try
        {
            var current = FileText.Read(_path);
            bool settled = current == _seen;
            _seen = current;
            if (!settled || current == _applied)
                return;
            _applied = current;
            try
            {
                _onChange(Load(current));
                _revision++;
            }
            catch (ConfigFileException e)
            {
                _onError($"{e.Message} (keeping the last good services)");
            }
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    private DesiredState Load(FileText file) => file.Text is { } text
        ? StaticServicesFile.Parse(text, _path, _clusterName, _revision + 1)
        : throw new ConfigFileException(_path, file.ReadProblem!);

    public void Dispose() => _timer?.Dispose();

    /// <summary>What one read of the file gave: its text, or why it could not be read (compared
    /// by value, so an unreadable file settles too and is reported once).</summary>
    private readonly record struct FileText(string? Text, string? ReadProblem)
    {
        public static FileText Read(string path)
        {
            try
            {
                return new FileText(StaticServicesFile.ReadText(path), null);
            }
            catch (ConfigFileException e)
            {
                return new FileText(null, e.Problem);
            }
        }
    }
}
