namespace FastPath.ControlPlane.Model;

/// <summary><c>service.cilium.io/affinity</c>: which side's backends a global service prefers (SPEC §3, §5).</summary>
public enum ServiceAffinity
{
    None,
    Local,
    Remote,
}
