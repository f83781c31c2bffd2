using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Datapath.Tests.Infrastructure;

/// <summary>A TCP connection opened from the client pod (its socket belongs to the pod's netns);
/// <see cref="Ask"/> sends one line and reads one answer, with a bounded wait.</summary>
public sealed class PodClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1024];
    private readonly StringBuilder _pending = new();

    private PodClient(Socket socket) => _socket = socket;

    public EndPoint? RemoteEndPoint => _socket.RemoteEndPoint;
    public EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    /// <param name="source">A second address of the pod to connect from (another identity in the ipcache); null = the route's.</param>
    public static PodClient Connect(NetNs pod, IPEndPoint target, TimeSpan timeout, IPAddress? source = null)
    {
        var socket = pod.RunInside(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        try
        {
            if (source is not null)
                socket.Bind(new IPEndPoint(source, 0));
            using var cts = new CancellationTokenSource(timeout);
            socket.ConnectAsync(target, cts.Token).AsTask().GetAwaiter().GetResult();
            return new PodClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends "sequence\n" and returns the answer line, or null when none came in time
    /// (or the connection was reset).</summary>
    public PodReply? Ask(string sequence, TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            _socket.SendAsync(Encoding.ASCII.GetBytes(sequence + "\n"), SocketFlags.None, cts.Token).AsTask().GetAwaiter().GetResult();
            while (true)
            {
                string text = _pending.ToString();
                int newline = text.IndexOf('\n');
                if (newline >= 0)
                {
                    _pending.Clear().Append(text[(newline + 1)..]);
                    return PodReply.Parse(text[..newline]);
                }
                int n = _socket.ReceiveAsync(_buffer, SocketFlags.None, cts.Token).AsTask().GetAwaiter().GetResult();
                if (n == 0)
                    return null;
                _pending.Append(Encoding.ASCII.GetString(_buffer, 0, n));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    public void Dispose() => _socket.Dispose();
}
