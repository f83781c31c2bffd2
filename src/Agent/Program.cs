using System.CommandLine;
using FastPath.Agent.Cli;
using FastPath.Agent.Commands;

namespace FastPath.Agent;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("FastPath: a userspace cluster-mesh L4 load balancer (XDP + AF_XDP).");
        var agent = AgentCommand.Create();
        root.Subcommands.Add(agent);
        foreach (var command in CliCommands.Create())
            root.Subcommands.Add(command);
        if (args is ["agent", ..])
        {
            try
            {
                // --config-dir expands into ordinary flags before parsing, so required flags may come from it.
                args = ["agent", .. ConfigDirectory.Merge(agent, args[1..])];
            }
            catch (ConfigDirectoryException e)
            {
                Console.Error.WriteLine($"fastpath agent: {e.Message}");
                return 2;
            }
        }
        return root.Parse(args).Invoke();
    }
}
