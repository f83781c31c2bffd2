namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// The bearer token: fixed (kubeconfig <c>token</c>) or read from a file that is re-read periodically,
/// because the kubelet rotates projected service-account tokens (about hourly) by replacing the file.
/// </summary>
public sealed class KubeTokenSource
{
    /// <summary>How long a token read from a file is used before the file is read again (client-go uses 1 min).</summary>
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMinutes(1);

    private readonly string? _fixed;
    private readonly string? _file;
    private readonly TimeSpan _refresh;
    private readonly object _gate = new();
    private string? _cached;
    private DateTime _readAtUtc;

    private KubeTokenSource(string? fixedToken, string? file, TimeSpan refresh)
    {
        _fixed = fixedToken;
        _file = file;
        _refresh = refresh;
    }

    public static KubeTokenSource None { get; } = new(null, null, TimeSpan.Zero);

    public static KubeTokenSource Fixed(string token) => new(token, null, TimeSpan.Zero);

    /// <summary>A token file, read now (so a missing file fails at start-up, naming it) and again after each <paramref name="refresh"/>.</summary>
    public static KubeTokenSource FromFile(string file, string field, TimeSpan? refresh = null)
    {
        var source = new KubeTokenSource(null, file, refresh ?? DefaultRefreshInterval);
        source._cached = ReadFile(file, field);
        source._readAtUtc = DateTime.UtcNow;
        return source;
    }

    /// <summary>The file the token comes from, if any.</summary>
    public string? File => _file;

    /// <summary>The token to send now; null when the config has none (client certificates only).</summary>
    public string? Current()
    {
        if (_file is null)
            return _fixed;
        lock (_gate)
        {
            if (DateTime.UtcNow - _readAtUtc >= _refresh)
            {
                try
                {
                    _cached = ReadFile(_file, "token file");
                }
                catch (KubeApiException)
                {
                    // Mid-rotation or briefly unreadable: the old token is still valid for a while.
                }
                _readAtUtc = DateTime.UtcNow;
            }
            return _cached;
        }
    }

    private static string ReadFile(string file, string field)
    {
        try
        {
            string token = System.IO.File.ReadAllText(file).Trim();
            if (token.Length == 0)
                throw new KubeApiException($"{file}: {field} is empty");
            return token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubeApiException($"{file}: cannot read {field}: {e.Message}", e);
        }
    }
}
