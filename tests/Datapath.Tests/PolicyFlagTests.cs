using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// Policy flags and documents are checked at start-up, before any XDP program is attached: the
/// published agent exits 2 naming the flag, or the file, document and path of a malformed policy.
/// No namespace is touched: every case fails in validation.
/// </summary>
public sealed class PolicyFlagTests : IDisposable
{
    private readonly FlagScratch _scratch = new("polflags");

    public PolicyFlagTests()
    {
        _scratch.Write("services.yaml", "services: []\n");
        _scratch.Write(Path.Combine("bad-policy", "policy.yaml"), """
            apiVersion: "cilium.io/v2"
            kind: CiliumNetworkPolicy
            metadata:
              name: icmp
            spec:
              endpointSelector: {}
              egress:
              - toPorts:
                - ports:
                  - port: "80"
                    protocol: ICMP

            """);
    }

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("policy.yaml doc 1: spec.egress[0].toPorts[0].ports[0].protocol: expected TCP, UDP or ANY", "--k8s-manifests", "{root}/bad-policy")]
    [InlineData("--lb-policy-aware-selection needs mesh mode", "--services", "{root}/services.yaml", "--lb-policy-aware-selection")]
    [InlineData("--policy-default-local-cluster needs mesh mode", "--policy-default-local-cluster")]
    public void A_malformed_policy_or_a_policy_flag_without_mesh_mode_stops_start_up(string expected, params string[] flags) =>
        _scratch.AssertStartUpRefused(expected, flags);
}
