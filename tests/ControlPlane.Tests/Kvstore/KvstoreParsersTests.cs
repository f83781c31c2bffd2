using FastPath.Addressing;
using FastPath.ControlPlane.Kvstore;
using static FastPath.ControlPlane.Tests.Kvstore.CiliumKeys;

namespace FastPath.ControlPlane.Tests.Kvstore;

/// <summary>Value validation of SPEC §4/§6 as a table, without etcd.</summary>
public sealed class KvstoreParsersTests
{
    [Theory]
    [InlineData(2u, 255, 131072u, 196607u)]
    [InlineData(255u, 255, 16711680u, 16777215u)]
    [InlineData(2u, 511, 65536u, 98303u)]
    [InlineData(511u, 511, 16744448u, 16777215u)]
    public void ClusterIdentityRangesFollowTheMaxConnectedClustersLayout(uint id, int max, uint first, uint last) =>
        Assert.Equal((first, last), IdentityRange.ForCluster(id, max));

    [Theory]
    [InlineData(0u, 255, false)]
    [InlineData(255u, 255, true)]
    [InlineData(256u, 255, false)]
    [InlineData(511u, 511, true)]
    public void ClusterIdsMustBeWithinTheMeshSize(uint id, int max, bool valid) =>
        Assert.Equal(valid, IdentityRange.IsValidClusterId(id, max));

    [Fact]
    public void FieldNamesAreReadCaseInsensitively()
    {
        string json = Service("hk", 2, "default", "web", "10.0.0.1").Replace("\"clusterID\"", "\"ClusterId\"").Replace("\"Protocol\"", "\"protocol\"");
        var result = KvstoreParsers.ParseService("default/web", json, "hk", 2);
        Assert.NotNull(result.Value);
        Assert.Equal(L4Protocol.Tcp, result.Value!.Backends.Single().Value.Single().Protocol);
    }

    [Fact]
    public void ARemoteHostIpCacheEntryBecomesRemoteNodeButALocalOneStaysHost()
    {
        string json = IpCache("172.18.0.3", 1, "172.18.0.3");
        Assert.Equal(6u, KvstoreParsers.ParseIpCache("172.18.0.3", json, "hk", remote: true).Value!.Identity);
        Assert.Equal(1u, KvstoreParsers.ParseIpCache("172.18.0.3", json, "hk", remote: false).Value!.Identity);
    }

    [Fact]
    public void IpCacheKeysWithAndWithoutPrefixLengthAreAccepted()
    {
        var v6 = KvstoreParsers.ParseIpCache("fd00::1", IpCache("fd00::1", 70000, "fc00::3"), "hk", true).Value!;
        Assert.Equal((byte)128, v6.PrefixLength);
        Assert.Equal(NetAddress.Parse("fc00::3"), v6.HostIp);
        var cidr = KvstoreParsers.ParseIpCache("10.1.0.0/16", IpCache("10.1.0.0", 70000, "172.18.0.3"), "hk", true).Value!;
        Assert.Equal("10.1.0.0/16", cidr.Prefix);
        Assert.Equal(RejectReason.MalformedKey, KvstoreParsers.ParseIpCache("10.1.0.0/33", "{}", "hk", true).Reason);
    }

    [Fact]
    public void IdentityLabelsAreSortedAndTheClusterLabelIsChecked()
    {
        var ok = KvstoreParsers.ParseIdentity("131077", "k8s:io.kubernetes.pod.namespace=default;k8s:io.cilium.k8s.policy.cluster=hk;k8s:app=x;", "hk", 2, 255);
        Assert.Equal(new[] { "k8s:app=x", "k8s:io.cilium.k8s.policy.cluster=hk", "k8s:io.kubernetes.pod.namespace=default" }, ok.Value!.Labels);
        var missing = KvstoreParsers.ParseIdentity("131078", "k8s:app=x;", "hk", 2, 255);
        Assert.Equal(RejectReason.IdentityClusterLabel, missing.Reason);
    }
}
