namespace Datapath.Tests.Infrastructure;

/// <summary>
/// Start-up flag tests: a scratch directory for the files the flags name, and a run of the
/// published agent that must stop in validation — exit 2, the expected message on stderr, never
/// "fastpath: ready". <c>{root}</c> in flags and messages stands for the scratch directory.
/// No namespace is touched.
/// </summary>
public sealed class FlagScratch : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(30);

    public FlagScratch(string name)
    {
        Root = Path.Combine(Path.GetTempPath(), $"fp-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Writes <paramref name="text"/> at <paramref name="relativePath"/>, creating its directory.</summary>
    public void Write(string relativePath, string text)
    {
        string path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public void CreateDirectory(string relativePath) => Directory.CreateDirectory(Path.Combine(Root, relativePath));

    public void AssertStartUpRefused(string expected, params string[] flags)
    {
        var args = new List<string> { "agent", "--devices", "lo" };
        args.AddRange(flags.Select(f => f.Replace("{root}", Root)));
        var (exit, stdout, stderr) = Shell.TryRun(RunTimeout, RepoPaths.Agent, [.. args]);
        Assert.Equal(2, exit);
        Assert.Contains(expected.Replace("{root}", Root), stderr);
        Assert.DoesNotContain("fastpath: ready", stdout);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
