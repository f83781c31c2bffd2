namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// The API server source cannot start: a kubeconfig or service-account file that is missing or
/// malformed (the message names the file and the field), or an API server that refuses or cannot
/// be reached at start-up (the message names the server and the resource). Start-up stops then;
/// while running, the same failures are retried with backoff and counted instead.
/// </summary>
/// <param name="statusCode">The HTTP status (or watch ERROR code) when the server answered; 0 otherwise.</param>
public sealed class KubeApiException(string message, Exception? inner = null, int statusCode = 0) : Exception(message, inner)
{
    /// <summary>HTTP status the API server answered with (410 = the resource version is too old); 0 when it did not answer.</summary>
    public int StatusCode { get; } = statusCode;

    public bool IsGone => StatusCode == 410;
}
