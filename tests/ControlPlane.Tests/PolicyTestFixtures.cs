using FastPath.ControlPlane.Identity;
using FastPath.ControlPlane.Policy;

namespace FastPath.ControlPlane.Tests;

/// <summary>
/// Shared fixtures for the Policy*Tests: two clusters' identities built the way Cilium labels them
/// (every endpoint identity carries its cluster and namespace), and the seed policy files.
/// </summary>
internal static class PolicyTestFixtures
{
    /// <summary>An endpoint identity of cluster <paramref name="clusterId"/> (255-cluster layout).</summary>
    public static KeyValuePair<uint, LabelSet> Endpoint(int clusterId, uint local, string cluster, string ns, params string[] labels)
    {
        uint id = IdentityLayout.Clusters255.RangeOf(clusterId).First + local;
        var all = labels.Select(l => "k8s:" + l).Append($"k8s:{Label.ClusterKey}={cluster}").Append($"k8s:{Label.NamespaceKey}={ns}");
        return new(id, LabelSet.Create(all.ToArray()));
    }

    public static uint Id(int clusterId, uint local) => IdentityLayout.Clusters255.RangeOf(clusterId).First + local;

    /// <summary>Finds tests/ControlPlane.Tests/TestData/Policy by walking up to FastPath.sln.</summary>
    public static string TestDataPath(string file)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastPath.sln")))
            dir = dir.Parent;
        if (dir is null)
            throw new InvalidOperationException("FastPath.sln not found above " + AppContext.BaseDirectory);
        return Path.Combine(dir.FullName, "tests", "ControlPlane.Tests", "TestData", "Policy", file);
    }

    public static PolicyParseResult LoadSeed(string file) => PolicyParser.ParseText(File.ReadAllText(TestDataPath(file)), file);
}
