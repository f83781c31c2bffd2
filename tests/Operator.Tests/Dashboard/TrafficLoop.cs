using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Datapath.Tests.Infrastructure;

namespace Operator.Tests.Dashboard;

/// <summary>
/// Background traffic for the dashboard: from the client pod, one TCP connection through the VIP
/// every <see cref="PauseMs"/> with one exchange, on its own thread (PodClient blocks on socket
/// tasks; a thread-pool thread must not). Bounded by <see cref="MaxConnections"/> and
/// <see cref="MaxDuration"/>; Dispose stops it and waits for the thread.
/// </summary>
internal sealed class TrafficLoop : IDisposable
{
    private const int PauseMs = 50;
    private const int MaxConnections = 5000;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(3);
    /// <summary>Short: a SYN the policy drops shows as a connect timeout.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(1);

    private readonly NetNs _client;
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _answered;
    private int _failed;

    public TrafficLoop(NetNs client)
    {
        _client = client;
        _thread = new Thread(Run) { IsBackground = true, Name = "dashboard traffic" };
        _thread.Start();
    }

    public int Answered => Volatile.Read(ref _answered);
    public int Failed => Volatile.Read(ref _failed);

    private void Run()
    {
        var vip = new IPEndPoint(ServiceTopology.Vip, 80);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < MaxConnections && !_stop && clock.Elapsed < MaxDuration; i++)
        {
            try
            {
                using var client = PodClient.Connect(_client, vip, ConnectTimeout);
                if (client.Ask($"dash-{i}", AnswerTimeout) is not null)
                    Interlocked.Increment(ref _answered);
                else
                    Interlocked.Increment(ref _failed);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                Interlocked.Increment(ref _failed);
            }
            Thread.Sleep(PauseMs);
        }
    }

    public override string ToString() => $"{Answered} connections answered, {Failed} failed";

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}
