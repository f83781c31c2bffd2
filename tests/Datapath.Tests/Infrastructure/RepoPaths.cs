namespace Datapath.Tests.Infrastructure;

/// <summary>Where the built artefacts are: the repository root holds FastPath.sln; `./build.sh build`
/// publishes the agent to bin/fastpath.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Agent => Path.Combine(Root, "bin", "fastpath");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastPath.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no FastPath.sln above {AppContext.BaseDirectory}");
    }
}
