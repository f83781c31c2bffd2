using System.Diagnostics;
using System.Net.Sockets;
using Datapath.Tests.Infrastructure;

namespace FastPath.Demo;

/// <summary>What a batch of requests saw: answers per pod, and how many got no answer.</summary>
internal sealed class Tally
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, int> _perPod = new(StringComparer.Ordinal);
    private int _failed;
    // When each failed request started and gave up (Stopwatch timestamps), and how it failed.
    private readonly List<(long Started, long Ended, string How)> _failures = [];

    public void Answered(string pod)
    {
        lock (_gate)
            _perPod[pod] = _perPod.GetValueOrDefault(pod) + 1;
    }

    /// <param name="how">What the client saw, e.g. "connect timed out" or "no answer (from :40312)".</param>
    public void Failed(long startedTimestamp, string how)
    {
        long ended = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _failed++;
            _failures.Add((startedTimestamp, ended, how));
        }
    }

    /// <summary>The failed requests by what the client saw: how many, and after how long at most it gave up.</summary>
    public IReadOnlyList<string> FailureDetails
    {
        get
        {
            lock (_gate)
                return _failures.GroupBy(f => f.How).Select(g =>
                    $"{g.Count()} × {g.Key}, gave up after {g.Max(f => Stopwatch.GetElapsedTime(f.Started, f.Ended).TotalSeconds):0.0} s").ToList();
        }
    }

    /// <summary>Failed requests that were in flight at some moment between the two timestamps.</summary>
    public int FailedDuring(long from, long to)
    {
        lock (_gate)
            return _failures.Count(f => f.Started < to && f.Ended > from);
    }

    public int FailedCount { get { lock (_gate) return _failed; } }
    public int AnsweredCount { get { lock (_gate) return _perPod.Values.Sum(); } }
    public int Total => AnsweredCount + FailedCount;

    public IReadOnlyDictionary<string, int> PerPod { get { lock (_gate) return new SortedDictionary<string, int>(_perPod); } }

    public int FromCluster(string cluster) => PerPod.Where(p => Topology.ClusterOf(p.Key) == cluster).Sum(p => p.Value);

    /// <summary>True when every answer came from <paramref name="clusters"/> and each of them answered.</summary>
    public bool AnsweredByExactly(params string[] clusters) =>
        AnsweredCount > 0 && clusters.All(c => FromCluster(c) > 0) && PerPod.Keys.All(p => clusters.Contains(Topology.ClusterOf(p)));

    /// <summary>"tokyo 20, hk 0, failed 0" — the summary's observed column.</summary>
    public string ByCluster => $"tokyo {FromCluster(Topology.Tokyo)}, hk {FromCluster(Topology.Hk)}, failed {FailedCount}";

    public string ByPod => string.Join(", ", PerPod.Select(p => $"{p.Key} {p.Value}")) + (FailedCount > 0 ? $", no answer {FailedCount}" : "");
}

/// <summary>
/// Requests from the client pod through the VIP, like `curl bookstore:8080` in a loop: each one a new
/// TCP connection (so Maglev picks again) with one exchange. A dropped SYN shows as a connect timeout.
/// Everything is bounded in count and time; sockets are used from our own threads only.
/// </summary>
internal static class Traffic
{
    /// <summary>For rounds where drops are expected: a SYN dropped by policy is given up on quickly.</summary>
    public static readonly TimeSpan ShortConnect = TimeSpan.FromMilliseconds(300);
    /// <summary>For rounds that must all succeed: a slow SYN-ACK on a loaded machine is not a failure.</summary>
    public static readonly TimeSpan PatientConnect = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);
    private static int _sequence;

    public static Tally Round(ServiceTopology net, int count, TimeSpan connectTimeout, CancellationToken stop)
    {
        var tally = new Tally();
        for (int i = 0; i < count; i++)
        {
            stop.ThrowIfCancellationRequested();
            Request(net, connectTimeout, tally);
        }
        return tally;
    }

    /// <summary>Rounds of <paramref name="count"/> until one satisfies <paramref name="converged"/> (the
    /// agent applies a change within a fraction of a second, but not instantly); null after the timeout.</summary>
    public static Tally? WaitFor(ServiceTopology net, Func<Tally, bool> converged, TimeSpan connectTimeout, TimeSpan timeout,
        CancellationToken stop, int count = 12)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var tally = Round(net, count, connectTimeout, stop);
            if (converged(tally))
                return tally;
            stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
        }
        return null;
    }

    public static void Request(ServiceTopology net, TimeSpan connectTimeout, Tally tally)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            using var client = PodClient.Connect(net.Client, Topology.VipEndpoint, connectTimeout);
            if (client.Ask($"demo-{Interlocked.Increment(ref _sequence)}", AnswerTimeout) is { } reply)
                tally.Answered(reply.Backend);
            else
                tally.Failed(started, $"no answer (from {client.LocalEndPoint})");
        }
        catch (OperationCanceledException)
        {
            tally.Failed(started, "connect timed out");
        }
        catch (Exception e) when (e is SocketException or IOException or AggregateException)
        {
            tally.Failed(started, $"connect failed: {(e as SocketException)?.SocketErrorCode.ToString() ?? e.Message}");
        }
    }
}

/// <summary>Requests sent back to back on a thread of its own while the main thread changes the mesh
/// (step 3: a failover must not fail a single request). Bounded by <see cref="MaxDuration"/>.</summary>
internal sealed class BackgroundLoad : IDisposable
{
    private static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);
    private readonly ServiceTopology _net;
    private readonly Thread _thread;
    private volatile bool _stop;

    public Tally Tally { get; } = new();

    public BackgroundLoad(ServiceTopology net)
    {
        _net = net;
        _thread = new Thread(Run) { IsBackground = true, Name = "demo load" };
        _thread.Start();
    }

    private void Run()
    {
        var clock = Stopwatch.StartNew();
        while (!_stop && clock.Elapsed < MaxDuration)
        {
            Traffic.Request(_net, Traffic.PatientConnect, Tally);
            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Waits until the load has had <paramref name="count"/> more answers from <paramref name="cluster"/> than
    /// it had when called (the load itself must see the change, not only the main thread); false after the timeout.
    /// </summary>
    public bool WaitForAnswers(string cluster, int count, TimeSpan timeout, CancellationToken stop)
    {
        int target = Tally.FromCluster(cluster) + count;
        var clock = Stopwatch.StartNew();
        while (Tally.FromCluster(cluster) < target)
        {
            if (clock.Elapsed > timeout || !_thread.IsAlive)
                return false;
            stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(50));
            stop.ThrowIfCancellationRequested();
        }
        return true;
    }

    /// <summary>Stops after the request in flight; returns what the load saw.</summary>
    public Tally Stop()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(10));
        return Tally;
    }

    public void Dispose() => Stop();
}
