using System.CommandLine;
using FastPath.Agent.Cli;
using FastPath.Agent.Commands;

namespace FastPath.Agent;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("FastPath: a userspace cluster-mesh L4 load balancer (XDP + AF_XDP).");
        root.Subcommands.Add(AgentCommand.Create());
        foreach (var command in CliCommands.Create())
            root.Subcommands.Add(command);
        return root.Parse(args).Invoke();
    }
}
