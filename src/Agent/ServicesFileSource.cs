using FastPath.ControlPlane;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Static;

namespace FastPath.Agent;

/// <summary>
/// Standalone mode's source: `--services FILE`, re-read when it changes (polled: editors replace
/// files in ways a FileSystemWatcher can miss). A bad edit is logged and the last good state
/// stays in force; only a bad file at start-up stops the agent.
/// </summary>
internal sealed class ServicesFileSource : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _path;
    private readonly string _clusterName;
    private readonly Action<DesiredState> _onChange;
    private readonly Timer _timer;
    private (DateTime, long) _lastSeen;
    private long _revision;
    private int _polling;

    public ServicesFileSource(string path, string clusterName, Action<DesiredState> onChange)
    {
        _path = path;
        _clusterName = clusterName;
        _onChange = onChange;
        _lastSeen = Stamp();
        // Start-up: errors propagate (ConfigFileException names the file and the problem).
        _onChange(StaticServicesFile.Load(_path, _clusterName, ++_revision));
        _timer = new Timer(_ => Poll(), null, PollInterval, PollInterval);
    }

    private (DateTime, long) Stamp()
    {
        var info = new FileInfo(_path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    private void Poll()
    {
        if (Interlocked.Exchange(ref _polling, 1) == 1)
            return;
        try
        {
            var stamp = Stamp();
            if (stamp == _lastSeen)
                return;
            _lastSeen = stamp;
            try
            {
                _onChange(StaticServicesFile.Load(_path, _clusterName, ++_revision));
            }
            catch (ConfigFileException e)
            {
                AgentLog.Error($"{e.Message} (keeping the last good services)");
            }
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
