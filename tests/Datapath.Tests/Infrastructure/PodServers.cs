using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// Servers living in a backend pod's namespace (their sockets were opened there), run by the
/// test process. Every answer describes itself — "backend=NAME client=IP:PORT seq=N" — so the
/// client learns which backend answered and what source address that backend saw.
/// TCP answers every line it reads, so a long-lived connection can be probed again and again.
/// </summary>
public sealed class PodServers : IDisposable
{
    public const int TcpPort = 8080;
    public const int UdpPort = 5353;

    private readonly Socket _listener;
    private readonly Socket _udp;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = new();

    public string Name { get; }

    private PodServers(string name, Socket listener, Socket udp)
    {
        Name = name;
        _listener = listener;
        _udp = udp;
        _ = Task.Run(AcceptLoop);
        _ = Task.Run(UdpLoop);
    }

    public static PodServers Start(NetNs pod, string name)
    {
        var (listener, udp) = pod.RunInside(() =>
        {
            var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            tcp.Bind(new IPEndPoint(IPAddress.Any, TcpPort));
            tcp.Listen(512);
            var u = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            u.Bind(new IPEndPoint(IPAddress.Any, UdpPort));
            return (tcp, u);
        });
        return new PodServers(name, listener, udp);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch
            {
                return;
            }
            lock (_accepted)
                _accepted.Add(connection);
            _ = Task.Run(() => Serve(connection));
        }
    }

    private async Task Serve(Socket connection)
    {
        var buffer = new byte[1024];
        var pending = new StringBuilder();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await connection.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                    return;
                pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
                string text = pending.ToString();
                int newline;
                while ((newline = text.IndexOf('\n')) >= 0)
                {
                    string request = text[..newline].Trim();
                    text = text[(newline + 1)..];
                    string reply = $"backend={Name} client={connection.RemoteEndPoint} seq={request}\n";
                    await connection.SendAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, _stop.Token);
                }
                pending.Clear().Append(text);
            }
        }
        catch
        {
            // Connection reset or shutdown: the client side asserts what it needed.
        }
        finally
        {
            connection.Dispose();
        }
    }

    private async Task UdpLoop()
    {
        var buffer = new byte[1500];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var result = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                string request = Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes).Trim();
                string reply = $"backend={Name} client={result.RemoteEndPoint} seq={request}\n";
                await _udp.SendToAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, result.RemoteEndPoint, _stop.Token);
            }
            catch
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _udp.Dispose();
        lock (_accepted)
            foreach (var s in _accepted)
                s.Dispose();
    }
}

/// <summary>A parsed server answer.</summary>
public readonly record struct PodReply(string Backend, string ClientEndpoint, string Sequence)
{
    public static PodReply Parse(string line)
    {
        var fields = line.Trim().Split(' ').Select(f => f.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        return new PodReply(fields.GetValueOrDefault("backend", "?"), fields.GetValueOrDefault("client", "?"), fields.GetValueOrDefault("seq", "?"));
    }

    public string ClientAddress => ClientEndpoint.Split(':')[0];
}
