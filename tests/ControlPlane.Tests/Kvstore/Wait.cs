using System.Diagnostics;

namespace FastPath.ControlPlane.Tests.Kvstore;

/// <summary>Bounded polling: every wait has a deadline and says what it waited for.</summary>
internal static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? state = null)
    {
        TimeSpan limit = timeout ?? Default;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (condition())
                return;
            await Task.Delay(50);
        }
        if (condition())
            return;
        throw new TimeoutException($"timed out after {limit.TotalSeconds} s waiting for {what}. {state?.Invoke()}");
    }
}
