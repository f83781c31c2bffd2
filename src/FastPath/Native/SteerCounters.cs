namespace FastPath.Native;

/// <summary>
/// fp_steer_counters summed over CPUs. Indices and names mirror enum fp_steer_counter in
/// native/include/fp_consts.h (names are the enum identifiers without FP_STEER_, lower case),
/// and are used as-is in metrics.
/// </summary>
public sealed class SteerCounters
{
    public const int PassNotIp = 0;
    public const int PassNotL4 = 1;
    public const int PassNoMatch = 2;
    public const int PassFragment = 3;
    public const int PassMalformed = 4;
    public const int PassNoSocket = 5;
    public const int PassUnknownDevice = 6;
    public const int RedirectFrontend = 7;
    public const int RedirectReply = 8;
    public const int PassIpv6Ext = 9;
    public const int Count = 10;

    public static IReadOnlyList<string> Names { get; } =
    [
        "pass_not_ip", "pass_not_l4", "pass_no_match", "pass_fragment", "pass_malformed",
        "pass_no_socket", "pass_unknown_device", "redirect_frontend", "redirect_reply", "pass_ipv6_ext",
    ];

    private readonly ulong[] _values;

    internal SteerCounters(ulong[] values) => _values = values;

    public ulong this[int index] => _values[index];

    public ulong NotIp => _values[PassNotIp];
    public ulong NotL4 => _values[PassNotL4];
    public ulong NoMatch => _values[PassNoMatch];
    public ulong Fragment => _values[PassFragment];
    public ulong Malformed => _values[PassMalformed];
    public ulong NoSocket => _values[PassNoSocket];
    public ulong UnknownDevice => _values[PassUnknownDevice];
    public ulong Frontend => _values[RedirectFrontend];
    public ulong Reply => _values[RedirectReply];
    public ulong Ipv6Ext => _values[PassIpv6Ext];

    public override string ToString() =>
        string.Join(' ', Names.Select((name, i) => $"{name}={_values[i]}"));
}
