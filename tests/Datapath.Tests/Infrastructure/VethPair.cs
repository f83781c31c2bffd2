namespace Datapath.Tests.Infrastructure;

/// <summary>
/// A veth pair with one end in each namespace, both ends up. Deleting one end deletes both;
/// deleting a namespace deletes its end too, so Dispose is best effort.
/// </summary>
public sealed class VethPair : IDisposable
{
    public NetNs NamespaceA { get; }
    public string NameA { get; }
    public NetNs NamespaceB { get; }
    public string NameB { get; }

    private VethPair(NetNs nsA, string nameA, NetNs nsB, string nameB)
    {
        NamespaceA = nsA;
        NameA = nameA;
        NamespaceB = nsB;
        NameB = nameB;
    }

    /// <summary>Names must be at most 15 characters (IFNAMSIZ - 1) and unique inside each namespace.</summary>
    /// <param name="queues">TX and RX queues per end; 1 keeps every frame on rx queue 0 (one AF_XDP socket).</param>
    public static VethPair Create(NetNs nsA, string nameA, NetNs nsB, string nameB, int queues = 1)
    {
        if (nameA.Length > 15 || nameB.Length > 15)
            throw new ArgumentException($"interface names '{nameA}', '{nameB}' must be at most 15 characters");
        // Created inside A, peer moved straight into B: no name ever exists in the root namespace.
        string q = queues.ToString();
        nsA.Exec("ip", "link", "add", nameA, "numtxqueues", q, "numrxqueues", q, "type", "veth",
            "peer", "name", nameB, "numtxqueues", q, "numrxqueues", q, "netns", nsB.Name);
        var pair = new VethPair(nsA, nameA, nsB, nameB);
        try
        {
            nsA.Exec("ip", "link", "set", nameA, "up");
            nsB.Exec("ip", "link", "set", nameB, "up");
        }
        catch
        {
            pair.Dispose();
            throw;
        }
        return pair;
    }

    public void Dispose() =>
        NamespaceA.TryExec(TimeSpan.FromSeconds(10), "ip", "link", "delete", NameA);
}
