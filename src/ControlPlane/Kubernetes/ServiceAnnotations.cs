using System.Collections.Immutable;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// The Cilium Cluster Mesh Service annotations (SPEC §3). The current name wins over the legacy one
/// when both are set. Values are compared case-insensitively and read the way Cilium reads them:
/// global only when "true", shared off only when "false", an unknown affinity means none — so a
/// manifest Cilium accepts is never rejected here.
/// </summary>
public static class ServiceAnnotations
{
    public const string Global = "service.cilium.io/global";
    public const string GlobalLegacy = "io.cilium/global-service";
    public const string Shared = "service.cilium.io/shared";
    public const string SharedLegacy = "io.cilium/shared-service";
    public const string Affinity = "service.cilium.io/affinity";
    public const string AffinityLegacy = "io.cilium/service-affinity";

    public static bool IsGlobal(IReadOnlyDictionary<string, string> annotations) =>
        Equals(Lookup(annotations, Global, GlobalLegacy), "true");

    /// <summary>Shared defaults to true for a global service; always false for a non-global one.</summary>
    public static bool IsShared(IReadOnlyDictionary<string, string> annotations) =>
        IsGlobal(annotations) && !Equals(Lookup(annotations, Shared, SharedLegacy), "false");

    /// <summary>Affinity defaults to none, and is none for a non-global service.</summary>
    public static ServiceAffinity AffinityOf(IReadOnlyDictionary<string, string> annotations)
    {
        if (!IsGlobal(annotations))
            return ServiceAffinity.None;
        string? value = Lookup(annotations, Affinity, AffinityLegacy);
        if (Equals(value, "local"))
            return ServiceAffinity.Local;
        if (Equals(value, "remote"))
            return ServiceAffinity.Remote;
        return ServiceAffinity.None;
    }

    private static string? Lookup(IReadOnlyDictionary<string, string> annotations, string key, string legacyKey) =>
        annotations.TryGetValue(key, out var value) ? value
        : annotations.TryGetValue(legacyKey, out var legacy) ? legacy
        : null;

    private static bool Equals(string? value, string expected) =>
        value is not null && string.Equals(value.Trim(), expected, StringComparison.OrdinalIgnoreCase);
}
