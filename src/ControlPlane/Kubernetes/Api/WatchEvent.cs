using System.Text.Json;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>The event types of a watch stream (<c>{"type":"ADDED","object":{...}}</c>, one JSON object per line).</summary>
public enum WatchEventType
{
    /// <summary>The line was not a usable event; <see cref="WatchEvent.Problem"/> says why.</summary>
    Malformed,
    Added,
    Modified,
    Deleted,
    /// <summary>Only advances the resource version (the object carries nothing else that matters).</summary>
    Bookmark,
    /// <summary>The object is a <c>Status</c>; code 410 means the resource version is too old (re-list).</summary>
    Error,
}

/// <param name="Object">The event's object (owned copy); default for <see cref="WatchEventType.Malformed"/>.</param>
public readonly record struct WatchEvent(WatchEventType Type, JsonElement Object, string? Problem = null)
{
    /// <summary>Parses one line of a watch stream; never throws (a bad line is returned as <see cref="WatchEventType.Malformed"/>).</summary>
    public static WatchEvent Parse(System.Buffers.ReadOnlySequence<byte> line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("object", out var obj) || obj.ValueKind != JsonValueKind.Object)
                return new WatchEvent(WatchEventType.Malformed, default, "expected {\"type\": ..., \"object\": {...}}");
            var kind = type.GetString() switch
            {
                "ADDED" => WatchEventType.Added,
                "MODIFIED" => WatchEventType.Modified,
                "DELETED" => WatchEventType.Deleted,
                "BOOKMARK" => WatchEventType.Bookmark,
                "ERROR" => WatchEventType.Error,
                _ => WatchEventType.Malformed,
            };
            return kind == WatchEventType.Malformed
                ? new WatchEvent(kind, obj.Clone(), $"unknown event type \"{type.GetString()}\"")
                : new WatchEvent(kind, obj.Clone());
        }
        catch (JsonException e)
        {
            return new WatchEvent(WatchEventType.Malformed, default, $"not JSON: {e.Message}");
        }
    }
}
