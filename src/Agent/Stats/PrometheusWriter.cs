using System.Globalization;
using System.Text;

namespace FastPath.Agent.Stats;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4) by hand: no client library is
/// available. Each metric family gets its HELP and TYPE line once, before its first sample;
/// label values are escaped (backslash, double quote, newline) as the format requires, and HELP
/// text escapes backslash and newline. Samples are grouped by family (the format requires a
/// family's lines to be contiguous) even when callers interleave families, e.g. per queue.
/// Off the hot path: called once per scrape.
/// </summary>
internal sealed class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly List<StringBuilder> _families = new();
    private readonly Dictionary<string, StringBuilder> _byName = new(StringComparer.Ordinal);
    private StringBuilder _text = new();

    public override string ToString()
    {
        var all = new StringBuilder();
        foreach (var family in _families)
            all.Append(family);
        return all.ToString();
    }

    /// <summary>Selects the family <paramref name="name"/> for the next samples, writing its HELP and TYPE the first time.</summary>
    public PrometheusWriter Family(string name, string type, string help)
    {
        if (!_byName.TryGetValue(name, out var text))
        {
            text = new StringBuilder();
            text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            _byName[name] = text;
            _families.Add(text);
        }
        _text = text;
        return this;
    }

    public PrometheusWriter Counter(string name, string help, double value, params (string Name, string Value)[] labels) =>
        Family(name, "counter", help).Sample(name, labels, value);

    public PrometheusWriter Gauge(string name, string help, double value, params (string Name, string Value)[] labels) =>
        Family(name, "gauge", help).Sample(name, labels, value);

    /// <summary>
    /// A histogram: cumulative <c>_bucket{le=...}</c> lines for every bound plus <c>+Inf</c>, then
    /// <c>_sum</c> and <c>_count</c>. <paramref name="bucketCounts"/> are per-bucket (not cumulative)
    /// counts, one per bound plus one for the overflow bucket.
    /// </summary>
    public PrometheusWriter Histogram(string name, string help, ReadOnlySpan<double> upperBounds, ReadOnlySpan<long> bucketCounts,
        double sum, params (string Name, string Value)[] labels)
    {
        if (bucketCounts.Length != upperBounds.Length + 1)
            throw new ArgumentException($"histogram {name}: expected {upperBounds.Length + 1} bucket counts, got {bucketCounts.Length}");
        Family(name, "histogram", help);
        long cumulative = 0;
        for (int i = 0; i <= upperBounds.Length; i++)
        {
            cumulative += bucketCounts[i];
            string le = i < upperBounds.Length ? FormatValue(upperBounds[i]) : "+Inf";
            Sample(name + "_bucket", [.. labels, ("le", le)], cumulative);
        }
        Sample(name + "_sum", labels, sum);
        Sample(name + "_count", labels, cumulative);
        return this;
    }

    private PrometheusWriter Sample(string name, ReadOnlySpan<(string Name, string Value)> labels, double value)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                    _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"").Append(EscapeLabelValue(labels[i].Value)).Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(FormatValue(value)).Append('\n');
        return this;
    }

    /// <summary>Label values: backslash → \\, double quote → \", newline → \n.</summary>
    public static string EscapeLabelValue(string value)
    {
        if (value.AsSpan().IndexOfAny("\\\"\n") < 0)
            return value;
        var sb = new StringBuilder(value.Length + 8);
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\").Replace("\n", "\\n");

    /// <summary>Go-style float text: integers without a decimal point, +Inf/-Inf/NaN spelled as Prometheus reads them.</summary>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
