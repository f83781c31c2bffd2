using System.CommandLine;
using System.Text.RegularExpressions;
using FastPath.Agent.Stats;

namespace FastPath.Agent.Cli;

/// <summary>
/// The operator CLI: <c>status</c>, <c>service list</c>, <c>node list</c>, <c>identity list</c>,
/// <c>policy get</c>, <c>metrics list</c>, <c>observe</c>. Each reads the running agent's stats endpoint (<c>--server</c>)
/// and exits 1 with a message naming the address when the agent cannot be reached.
/// </summary>
internal static class CliCommands
{
    /// <summary>Stop a follow stream after this long even if nobody interrupts it (a bounded loop).</summary>
    private static readonly TimeSpan MaxFollow = TimeSpan.FromHours(24);

    public static IEnumerable<Command> Create()
    {
        yield return Status();
        yield return Group("service", "Services the agent load-balances.", List("list", "List frontends and their backends.",
            new Option<bool>("--clustermesh-affinity") { Description = "Mark the backends the service's affinity prefers." },
            (client, parse, affinity) => CliFormat.ServiceList(client.Get<List<ServiceDoc>>("/v1/services"), parse.GetValue(affinity))));
        yield return Group("node", "Nodes of every cluster in the mesh.", List("list", "List nodes.", null,
            (client, _, _) => CliFormat.NodeList(client.Get<List<NodeDoc>>("/v1/nodes"))));
        yield return Group("identity", "Security identities of every cluster.", List("list", "List identities.", null,
            (client, _, _) => CliFormat.IdentityList(client.Get<List<IdentityDoc>>("/v1/identities"))));
        yield return Group("policy", "Network policy in force.", List("get", "Show the policies and their revision.", null,
            (client, _, _) => CliFormat.Policy(client.Get<PolicyDoc>("/v1/policy"))));
        yield return Group("metrics", "The agent's Prometheus metrics.", MetricsList());
        yield return Observe();
    }

    private static Option<string> ServerOption() =>
        new("--server") { Description = "The agent's stats endpoint (ip:port).", DefaultValueFactory = _ => StatsServer.DefaultAddress };

    private static Command Group(string name, string description, Command sub)
    {
        var group = new Command(name, description);
        group.Subcommands.Add(sub);
        return group;
    }

    private static Command List(string name, string description, Option<bool>? flag,
        Func<StatsClient, ParseResult, Option<bool>, string> render)
    {
        var server = ServerOption();
        var command = new Command(name, description) { server };
        var option = flag ?? new Option<bool>("--unused") { Hidden = true };
        if (flag is not null)
            command.Options.Add(flag);
        command.SetAction(parse => Run(parse.GetValue(server)!, client => Console.Out.Write(render(client, parse, option))));
        return command;
    }

    private static Command Status()
    {
        var server = ServerOption();
        var verbose = new Option<bool>("--verbose") { Description = "Add etcd, remote configuration and synchronization lines per cluster." };
        var command = new Command("status", "Agent and ClusterMesh status, like `cilium status`.") { server, verbose };
        command.SetAction(parse => Run(parse.GetValue(server)!, client =>
            Console.Out.Write(CliFormat.Status(client.Get<ClusterMeshDoc>("/v1/clustermesh"), parse.GetValue(verbose), DateTimeOffset.UtcNow))));
        return command;
    }

    private static Command MetricsList()
    {
        var server = ServerOption();
        var pattern = new Option<string?>("--match-pattern", "-p") { Description = "Only metrics whose name matches this regular expression." };
        var command = new Command("list", "List metrics with their labels and values, like `cilium-dbg metrics list`.") { server, pattern };
        command.SetAction(parse =>
        {
            Regex? regex = null;
            if (parse.GetValue(pattern) is { } text)
            {
                try
                {
                    regex = new Regex(text, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine($"fastpath metrics list: --match-pattern '{text}': {e.Message}");
                    return 2;
                }
            }
            return Run(parse.GetValue(server)!, client => Console.Out.Write(CliFormat.MetricList(client.GetText("/metrics"), regex)));
        });
        return command;
    }

    private static Command Observe()
    {
        var server = ServerOption();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new flows until interrupted." };
        var verdict = new Option<string?>("--verdict") { Description = "Only flows with this verdict: FORWARDED or DROPPED." };
        var fromCluster = new Option<string?>("--from-cluster") { Description = "Only flows whose source is in this cluster." };
        var command = new Command("observe", "Recent flows and drops, like `hubble observe`.") { server, follow, verdict, fromCluster };
        command.SetAction(parse =>
        {
            string? v = parse.GetValue(verdict)?.ToUpperInvariant();
            if (v is not (null or "FORWARDED" or "DROPPED"))
            {
                Console.Error.WriteLine($"fastpath observe: --verdict '{parse.GetValue(verdict)}': expected FORWARDED or DROPPED");
                return 2;
            }
            string? cluster = parse.GetValue(fromCluster);
            return Run(parse.GetValue(server)!, client =>
            {
                if (!parse.GetValue(follow))
                {
                    foreach (var flow in client.Get<List<FlowDoc>>("/v1/flows"))
                        if (CliFormat.Matches(flow, v, cluster))
                            Console.Out.WriteLine(CliFormat.FlowLine(flow));
                    return;
                }
                using var stop = new CancellationTokenSource(MaxFollow);
                Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
                foreach (var flow in client.Stream<FlowDoc>("/v1/flows?follow=1", stop.Token))
                {
                    if (CliFormat.Matches(flow, v, cluster))
                    {
                        Console.Out.WriteLine(CliFormat.FlowLine(flow));
                        Console.Out.Flush();
                    }
                }
            });
        });
        return command;
    }

    private static int Run(string server, Action<StatsClient> action)
    {
        try
        {
            using var client = new StatsClient(server);
            action(client);
            return 0;
        }
        catch (AgentUnreachableException e)
        {
            Console.Error.WriteLine($"fastpath: {e.Message}");
            return 1;
        }
        catch (UriFormatException)
        {
            Console.Error.WriteLine($"fastpath: --server '{server}': expected ip:port, e.g. {StatsServer.DefaultAddress}");
            return 2;
        }
    }
}
