using System.Globalization;
using System.Text;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// A tiny Prometheus text-format parser for the tests (Operator.Tests links this file too):
/// samples with their labels (unescaped), and the TYPE of each family. Throws on any line that is not a comment or a well-formed sample, and
/// on a family whose samples are not contiguous or that has no TYPE before its first sample.
/// </summary>
public sealed class PrometheusText
{
    public readonly record struct Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public List<Sample> Samples { get; } = new();
    public Dictionary<string, string> Types { get; } = new();

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText();
        var finished = new HashSet<string>();
        string? current = null;
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0)
                continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                if (!result.Types.TryAdd(parts[2], parts[3]))
                    throw new FormatException($"second TYPE for {parts[2]}");
                continue;
            }
            if (line.StartsWith('#'))
                continue;
            var sample = ParseSample(line);
            string family = FamilyOf(sample.Name, result.Types);
            if (!result.Types.ContainsKey(family))
                throw new FormatException($"sample before TYPE: {line}");
            if (family != current)
            {
                if (current is not null)
                    finished.Add(current);
                if (finished.Contains(family))
                    throw new FormatException($"family {family} is not contiguous");
                current = family;
            }
            result.Samples.Add(sample);
        }
        return result;
    }

    private static string FamilyOf(string name, Dictionary<string, string> types)
    {
        foreach (string suffix in new[] { "_bucket", "_sum", "_count" })
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.GetValueOrDefault(name[..^suffix.Length]) == "histogram")
                return name[..^suffix.Length];
        return name;
    }

    private static Sample ParseSample(string line)
    {
        int i = 0;
        while (i < line.Length && (char.IsLetterOrDigit(line[i]) || line[i] is '_' or ':'))
            i++;
        string name = line[..i];
        if (name.Length == 0)
            throw new FormatException($"no metric name: {line}");
        var labels = new Dictionary<string, string>();
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                int eq = line.IndexOf('=', i);
                string label = line[i..eq];
                if (line[eq + 1] != '"')
                    throw new FormatException($"label value not quoted: {line}");
                var value = new StringBuilder();
                int j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => throw new FormatException($"bad escape in {line}") });
                    }
                    else
                        value.Append(line[j]);
                }
                labels[label] = value.ToString();
                i = j + 1;
                if (line[i] == ',')
                    i++;
            }
            i++;
        }
        if (line[i] != ' ')
            throw new FormatException($"no space before value: {line}");
        string text = line[(i + 1)..];
        double v = text switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, v);
    }

    public double Value(string name, params (string Name, string Value)[] labels) =>
        Find(name, labels) is { } s ? s.Value : throw new KeyNotFoundException($"no sample {name} {string.Join(",", labels)}");

    public Sample? Find(string name, params (string Name, string Value)[] labels)
    {
        foreach (var s in Samples)
            if (s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value))
                return s;
        return null;
    }
}
