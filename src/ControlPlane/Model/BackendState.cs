namespace FastPath.ControlPlane.Model;

/// <summary>Backend condition as Cilium names it. Only <see cref="Active"/> backends take new flows;
/// <see cref="Terminating"/> ones (EndpointSlice serving but terminating) are a fallback of last resort.</summary>
public enum BackendState
{
    Active,
    Terminating,
}
