namespace FastPath.Agent;

/// <summary>The agent's operator log: one line per event on stderr, timestamped, level first.
/// Never used on the packet path.</summary>
internal static class AgentLog
{
    private static readonly object Gate = new();

    public static void Info(string message) => Write("info", message);
    public static void Warn(string message) => Write("warn", message);
    public static void Error(string message) => Write("error", message);

    private static void Write(string level, string message)
    {
        lock (Gate)
            Console.Error.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {message}");
    }
}
