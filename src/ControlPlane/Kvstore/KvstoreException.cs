namespace FastPath.ControlPlane.Kvstore;

/// <summary>A cluster's kvstore content cannot be used (missing/invalid cluster config, duplicate id, stale heartbeat).</summary>
public sealed class KvstoreException(string message) : Exception(message);
