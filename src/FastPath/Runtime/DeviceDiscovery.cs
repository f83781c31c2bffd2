using FastPath.NextHop;

namespace FastPath.Runtime;

/// <summary>
/// Expands `--devices` patterns (exact names, or prefixes ending in '+', as cilium-agent accepts)
/// against the interfaces of the current network namespace, read from sysfs.
/// </summary>
public static class DeviceDiscovery
{
    private const string SysClassNet = "/sys/class/net";

    public static IReadOnlyList<NetworkDevice> Resolve(IReadOnlyList<string> patterns)
    {
        var names = Directory.Exists(SysClassNet)
            ? Directory.GetFileSystemEntries(SysClassNet).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];
        var chosen = new List<string>();
        foreach (var pattern in patterns)
        {
            bool prefix = pattern.EndsWith('+');
            string stem = prefix ? pattern[..^1] : pattern;
            var matches = names.Where(n => prefix ? n.StartsWith(stem, StringComparison.Ordinal) : n == stem).ToList();
            if (matches.Count == 0)
                throw new InvalidOperationException(
                    $"--devices: no interface matches '{pattern}' in this network namespace (have: {string.Join(", ", names)})");
            chosen.AddRange(matches.Where(m => !chosen.Contains(m)));
        }
        var devices = new List<NetworkDevice>(chosen.Count);
        foreach (var name in chosen)
            devices.Add(Describe(devices.Count, name));
        return devices;
    }

    private static NetworkDevice Describe(int slot, string name)
    {
        string dir = Path.Combine(SysClassNet, name);
        int ifindex = int.Parse(File.ReadAllText(Path.Combine(dir, "ifindex")).Trim());
        var mac = MacAddress.Parse(File.ReadAllText(Path.Combine(dir, "address")).Trim());
        string queues = Path.Combine(dir, "queues");
        int rxQueues = Directory.Exists(queues)
            ? Math.Max(1, Directory.GetDirectories(queues, "rx-*").Length)
            : 1;
        return new NetworkDevice(slot, name, ifindex, mac, rxQueues);
    }
}
