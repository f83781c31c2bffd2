using System.Text.Json;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>Case-insensitive field access on JSON objects (Cilium's Go structs mix "IP", "clusterID", "Protocol").</summary>
internal static class JsonFields
{
    public static bool TryGet(this JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in obj.EnumerateObject())
            {
                if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = property.Value;
                    return true;
                }
            }
        }
        value = default;
        return false;
    }

    public static string? GetString(this JsonElement obj, string name) =>
        obj.TryGet(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A non-negative integer field; false when absent or not a uint.</summary>
    public static bool TryGetUInt(this JsonElement obj, string name, out uint value)
    {
        value = 0;
        return obj.TryGet(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out value);
    }

    public static bool GetBool(this JsonElement obj, string name, bool fallback) =>
        obj.TryGet(name, out JsonElement v) ? v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // Annotations-style strings ("false") appear in hand-written keys; accept them too.
            JsonValueKind.String => bool.TryParse(v.GetString(), out bool b) ? b : fallback,
            _ => fallback,
        } : fallback;
}
