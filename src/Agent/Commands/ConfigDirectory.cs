using System.CommandLine;

namespace FastPath.Agent.Commands;

/// <summary>A file in <c>--config-dir</c> the agent cannot use; the message names the file.</summary>
internal sealed class ConfigDirectoryException(string message) : Exception(message);

/// <summary>
/// <c>--config-dir DIR</c>, as cilium-agent reads it: a directory with one file per flag, the way a
/// ConfigMap mounted as a volume lays out its keys. File name = flag name without "--", content =
/// value (surrounding whitespace trimmed; booleans "true" or "false"). The values become extra
/// command-line arguments for the flags the command line does not give, so the command line wins
/// and every value goes through the same parsing and start-up validation as a typed flag.
/// Skipped: dot entries (a ConfigMap volume's "..data" symlink and timestamped directory),
/// subdirectories, and empty files (a key set to "" means "not set", as in cilium-config).
/// Any other file that names no agent flag stops start-up: a typo must not silently run defaults.
/// </summary>
internal static class ConfigDirectory
{
    public const string Flag = "--config-dir";

    /// <summary>Flags a directory may not set: they steer how the configuration itself is read.</summary>
    private static readonly HashSet<string> NotFromDirectory = new(StringComparer.Ordinal) { Flag, "--validate-config", "--help", "--version" };

    /// <summary>
    /// Returns <paramref name="args"/> (the agent command's own arguments, after "agent") followed by
    /// the directory's flags the arguments do not already give. Without <c>--config-dir</c> in the
    /// arguments they are returned unchanged.
    /// </summary>
    public static string[] Merge(Command agent, IReadOnlyList<string> args)
    {
        string? directory = FindValue(args);
        if (directory is null)
            return args.ToArray();
        if (!Directory.Exists(directory))
            throw new ConfigDirectoryException($"{Flag} {directory}: no such directory");

        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (string arg in args)
            if (arg.StartsWith("--", StringComparison.Ordinal))
                given.Add(arg.Split('=', 2)[0]);

        var options = new Dictionary<string, Option>(StringComparer.Ordinal);
        foreach (Option option in agent.Options)
            options[option.Name] = option;

        var merged = new List<string>(args);
        foreach (string path in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            string key = Path.GetFileName(path);
            if (key.StartsWith('.'))
                continue;
            string flag = "--" + key;
            if (!options.TryGetValue(flag, out Option? option) || NotFromDirectory.Contains(flag))
                throw new ConfigDirectoryException(
                    $"{Flag} {directory}: file '{key}' names no agent flag (expected a file per flag, named like cluster-name, devices, stats-address)");
            string value = File.ReadAllText(path).Trim();
            if (value.Length == 0 || given.Contains(flag))
                continue;
            if (option.ValueType == typeof(bool))
                value = ParseBool(path, value) ? "true" : "false";
            merged.Add(flag);
            merged.Add(value);
        }
        return merged.ToArray();
    }

    /// <summary>"true" or "false" (any case), like the values cilium-config holds for its switches.</summary>
    private static bool ParseBool(string path, string value) => value.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ConfigDirectoryException($"{Flag}: {path}: '{value}' is not a boolean (expected true or false)"),
    };

    private static string? FindValue(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == Flag)
                return i + 1 < args.Count ? args[i + 1] : throw new ConfigDirectoryException($"{Flag}: expected a directory");
            if (args[i].StartsWith(Flag + "=", StringComparison.Ordinal))
                return args[i][(Flag.Length + 1)..];
        }
        return null;
    }
}
