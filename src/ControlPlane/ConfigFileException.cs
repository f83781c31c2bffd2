namespace FastPath.ControlPlane;

/// <summary>A configuration, manifest or services file that cannot be used. The message names the
/// file and, where known, the place inside it and what was expected; start-up stops with it.</summary>
public sealed class ConfigFileException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}
