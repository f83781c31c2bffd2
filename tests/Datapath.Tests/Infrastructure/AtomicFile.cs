namespace Datapath.Tests.Infrastructure;

/// <summary>
/// Replaces a file the way ConfigMap mounts and kubectl-style tooling do: write a hidden sibling,
/// then rename it over the target, so a watcher never reads half a file (the manifest and
/// clustermesh-config sources skip dotfiles).
/// </summary>
public static class AtomicFile
{
    public static void Replace(string path, string text)
    {
        string temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.tmp");
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
