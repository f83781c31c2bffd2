namespace FastPath.ControlPlane.Etcd;

/// <summary>Timeouts of an <see cref="EtcdClient"/>; the defaults suit a remote cluster over a WAN.</summary>
public sealed record EtcdClientOptions
{
    /// <summary>TCP + TLS connect limit per attempt.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Limit for a unary call, and for a watch stream to be accepted.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle time before an HTTP/2 ping checks the peer is alive.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a ping may go unanswered before the connection is declared dead.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
