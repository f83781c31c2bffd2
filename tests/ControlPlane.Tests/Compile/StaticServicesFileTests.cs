using FastPath.Addressing;
using FastPath.ControlPlane;
using FastPath.ControlPlane.Static;

namespace FastPath.ControlPlane.Tests.Compile;

public class StaticServicesFileTests
{
    private const string Valid = """
        services:
          - namespace: default
            name: echo
            vip: 10.96.0.10
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: udp, port: 53 }
            backends:
              - { address: 10.244.2.1 }
              - { address: 10.244.2.2, weight: 200, cluster: hk }
              - { address: 10.244.2.3, port: 9090 }
        """;

    [Fact]
    public void Every_vip_port_becomes_a_frontend_with_its_backends_at_the_target_port()
    {
        var state = StaticServicesFile.Parse(Valid, "services.yaml", "tokyo", revision: 7);

        Assert.Equal(7, state.Revision);
        Assert.Equal(2, state.Frontends.Length);
        var http = state.Frontends[0];
        Assert.Equal((NetAddress.Parse("10.96.0.10"), (ushort)80, L4Protocol.Tcp, "http"), (http.Address, http.Port, http.Protocol, http.PortName));
        Assert.Equal(["10.244.2.1:8080/TCP", "10.244.2.2:8080/TCP", "10.244.2.3:9090/TCP"], http.Backends.Select(b => b.ToString()));
        Assert.Equal(["tokyo", "hk", "tokyo"], http.Backends.Select(b => b.Cluster));
        Assert.Equal([100, 200, 100], http.Backends.Select(b => (int)b.Weight));

        var dns = state.Frontends[1];
        Assert.Equal(L4Protocol.Udp, dns.Protocol);
        Assert.Equal(["10.244.2.1:53/UDP", "10.244.2.2:53/UDP", "10.244.2.3:9090/UDP"], dns.Backends.Select(b => b.ToString()));
    }

    [Theory]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.300, ports: [{port: 80}] }", "services[0].vip: expected an IPv4 or IPv6 address, got '10.0.0.300'")]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.1, ports: [{port: 0}] }", "services[0].ports[0].port: expected a port number 1-65535, got '0'")]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.1, ports: [{port: 80, protocol: ICMP}] }", "services[0].ports[0].protocol: expected TCP or UDP, got 'ICMP'")]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.1, ports: [] }", "services[0].ports: expected at least one port")]
    [InlineData("services:\n  - { name: b, vip: 10.0.0.1, ports: [{port: 80}] }", "services[0].namespace: required")]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.1, ports: [{port: 80}], backends: [{address: 'fd00::1'}] }", "services[0].backends[0].address: fd00::1 is not of the same IP family as the vip 10.0.0.1")]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.1, ports: [{port: 80}, {port: 80}] }", "services[0].ports[1]: frontend 10.0.0.1:80/TCP is listed twice")]
    [InlineData("services:\n  - { namespace: a, name: b, vip: 10.0.0.1, ports: [{port: 80}], backends: [{address: 10.1.1.1, weight: 0}] }", "services[0].backends[0].weight: expected a weight 1-65535, got 0")]
    [InlineData("frontends: []", "line 1, column 1")]
    [InlineData("services:\n  - { namespace: a, name: b, vipp: 10.0.0.1 }", "line 2")]
    [InlineData("", "expected a top-level 'services:' list")]
    public void A_bad_file_is_refused_with_the_file_the_place_and_what_was_expected(string yaml, string expected)
    {
        var error = Assert.Throws<ConfigFileException>(() => StaticServicesFile.Parse(yaml, "svc.yaml", "tokyo", 1));
        Assert.StartsWith("svc.yaml: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_missing_file_is_named_in_the_error()
    {
        var error = Assert.Throws<ConfigFileException>(() => StaticServicesFile.Load("/nonexistent/services.yaml", "tokyo", 1));
        Assert.Contains("/nonexistent/services.yaml", error.Message);
    }
}
