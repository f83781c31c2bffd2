namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// A failed etcd call or an unusable etcd client config. The message always names the endpoint
/// and, when known, the config file it came from, so an operator can tell which cluster is broken.
/// </summary>
public sealed class EtcdException : Exception
{
    public EtcdException(string message, string? endpoint = null, string? configFile = null,
        int? grpcStatus = null, Exception? inner = null)
        : base(message, inner)
    {
        Endpoint = endpoint;
        ConfigFile = configFile;
        GrpcStatus = grpcStatus;
    }

    /// <summary>The endpoint URL the call went to, when there was one.</summary>
    public string? Endpoint { get; }

    /// <summary>The etcd client YAML the endpoint came from, when there was one.</summary>
    public string? ConfigFile { get; }

    /// <summary>The gRPC status code the server returned (e.g. 11 OUT_OF_RANGE), when it returned one.</summary>
    public int? GrpcStatus { get; }
}
