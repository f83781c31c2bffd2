using System.Text.Json;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// Reads the agent's stats endpoint (default 127.0.0.1:9962). That address is the loopback of the
/// netns the agent runs in, so requests run there with curl under <c>ip netns exec</c>.
/// </summary>
public static class AgentStats
{
    public const string DefaultAddress = "127.0.0.1:9962";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    public static PrometheusText Metrics(NetNs agentNetns, string address = DefaultAddress) =>
        PrometheusText.Parse(Get(agentNetns, address, "/metrics"));

    /// <summary>GET /v1/flows: recent flows and drops, as a parsed JSON array (dispose it).</summary>
    public static JsonDocument Flows(NetNs agentNetns, string address = DefaultAddress) =>
        JsonDocument.Parse(Get(agentNetns, address, "/v1/flows"));

    private static string Get(NetNs agentNetns, string address, string path)
    {
        var (code, stdout, stderr) = Shell.TryRun(RequestTimeout, "ip",
            ["netns", "exec", agentNetns.Name, "curl", "-s", "-S", "-f", "--max-time", "5", $"http://{address}{path}"]);
        if (code != 0)
            throw new InvalidOperationException($"GET http://{address}{path} in netns {agentNetns.Name} failed ({code}): {stderr}");
        return stdout;
    }
}
