namespace FastPath.ControlPlane.Kvstore;

/// <summary>
/// The cluster ids in use among connected clusters (the local one included), so two clusters
/// claiming one id are caught (SPEC §4): their identities would collide.
/// </summary>
public sealed class ClusterIdRegistry
{
    private readonly Dictionary<uint, string> _byId = new();
    private readonly object _lock = new();

    /// <summary>Claims <paramref name="id"/> for <paramref name="cluster"/>, releasing its previous id.
    /// Returns false and the holder when another cluster already has it.</summary>
    public bool TryClaim(string cluster, uint id, out string? holder)
    {
        lock (_lock)
        {
            if (_byId.TryGetValue(id, out string? current) && current != cluster)
            {
                holder = current;
                return false;
            }
            ReleaseLocked(cluster);
            _byId[id] = cluster;
            holder = null;
            return true;
        }
    }

    public void Release(string cluster)
    {
        lock (_lock)
            ReleaseLocked(cluster);
    }

    private void ReleaseLocked(string cluster)
    {
        uint? owned = null;
        foreach (KeyValuePair<uint, string> pair in _byId)
        {
            if (pair.Value == cluster)
                owned = pair.Key;
        }
        if (owned is uint id)
            _byId.Remove(id);
    }
}
