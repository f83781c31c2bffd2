namespace FastPath.Policy;

/// <summary>Which side of an endpoint a policy check is for. Ingress: traffic arriving at the
/// endpoint (peer = source). Egress: traffic the endpoint sends (peer = destination).</summary>
public enum Direction : byte
{
    Ingress = 0,
    Egress = 1,
}
