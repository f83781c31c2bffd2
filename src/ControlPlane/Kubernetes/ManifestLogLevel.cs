namespace FastPath.ControlPlane.Kubernetes;

/// <summary>Severity of a note a Kubernetes source reports through its log callback.</summary>
public enum ManifestLogLevel
{
    Debug,
    Warning,
    Error,
}
