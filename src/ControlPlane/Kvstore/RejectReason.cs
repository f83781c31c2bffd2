namespace FastPath.ControlPlane.Kvstore;

/// <summary>Why a kvstore value was refused; these names are the keys of <see cref="ClusterStatus.Rejections"/>.</summary>
public static class RejectReason
{
    public const string MalformedJson = "malformed_json";
    public const string MalformedKey = "malformed_key";
    public const string MalformedValue = "malformed_value";
    public const string ClusterMismatch = "cluster_mismatch";
    public const string KeyMismatch = "key_mismatch";
    public const string ClusterIdMismatch = "cluster_id_mismatch";
    public const string IdentityOutOfRange = "identity_out_of_range";
    public const string IdentityClusterLabel = "identity_cluster_label";
}

/// <summary>A parse outcome: a value, a deliberate delete (e.g. <c>"shared":false</c>), or a rejection with its reason.</summary>
internal readonly record struct ParseResult<T>(T? Value, string? Reason, string? Detail, bool IsDelete = false)
    where T : class
{
    public static ParseResult<T> Ok(T value) => new(value, null, null);
    public static ParseResult<T> Delete() => new(null, null, null, true);
    public static ParseResult<T> Reject(string reason, string detail) => new(null, reason, detail);
}
