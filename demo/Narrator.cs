using Spectre.Console;

namespace FastPath.Demo;

/// <summary>One row of the closing table: what a step expected and what the requests showed.</summary>
internal sealed record StepResult(int Number, string Name, string Expected, string Observed, bool Passed);

/// <summary>
/// Tells the walkthrough in plain words (Spectre.Console): step headers, what is about to change,
/// the answers per pod as a bar chart coloured by cluster, the CLI's own output, and the summary.
/// Text that comes from elsewhere (CLI output, exception messages) is never parsed as markup.
/// </summary>
internal sealed class Narrator
{
    private const int RedirectedWidth = 160;

    public Narrator()
    {
        // Redirected output (a test, a log file): plain text, and tables not wrapped at 80 columns.
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = RedirectedWidth;
            AnsiConsole.Profile.Capabilities.Ansi = false;
            AnsiConsole.Profile.Capabilities.ColorSystem = ColorSystem.NoColors;
        }
    }

    public void Title(string text) => AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(text)}[/]").LeftJustified());

    public void Progress(string text)
    {
        if (Console.IsOutputRedirected)
            Fact(text); // long command lines stay one line in a log
        else
            AnsiConsole.MarkupLine($"[grey]  · {Markup.Escape(text)}[/]");
    }

    /// <summary>One line exactly as given, never wrapped (the run's resource names are read back by its test).</summary>
    public void Fact(string text) => Console.Out.WriteLine($"  · {text}");

    public void Step(int number, string headline)
    {
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule($"[bold yellow]Step {number}[/]: {Markup.Escape(headline)}").LeftJustified());
    }

    public void Say(string text) => AnsiConsole.MarkupLine($"  {Markup.Escape(text)}");

    public void Verdict(bool passed, string text) =>
        AnsiConsole.MarkupLine(passed ? $"  [green]✔ {Markup.Escape(text)}[/]" : $"  [red]✘ {Markup.Escape(text)}[/]");

    /// <summary>The answers of one batch of requests: one bar per pod, tokyo green, hk blue, failures red.</summary>
    public void Answers(string what, Tally tally)
    {
        AnsiConsole.MarkupLine($"  [bold]{Markup.Escape(what)}[/]: {tally.Total} requests through {Topology.VipEndpoint}");
        var chart = new BarChart().Width(70);
        foreach (string pod in Topology.PodNames)
            chart.AddItem(pod, tally.PerPod.GetValueOrDefault(pod), Topology.ClusterOf(pod) == Topology.Tokyo ? Color.Green : Color.Blue);
        chart.AddItem("no answer", tally.FailedCount, Color.Red);
        AnsiConsole.Write(new Padder(chart).PadLeft(2).PadTop(0).PadBottom(0));
        Say($"per cluster: {tally.ByCluster}");
        foreach (string failure in tally.FailureDetails)
            Say($"no answer: {failure}");
    }

    /// <summary>Shows a CLI command and its output, indented, as the operator would see it.</summary>
    public void Cli(string command, string output)
    {
        AnsiConsole.MarkupLine($"  [grey]$[/] [bold]{Markup.Escape(command)}[/]");
        // Console, not AnsiConsole: the CLI already laid its lines out; wrapping would break its columns.
        foreach (string line in output.TrimEnd().Split('\n'))
            Console.Out.WriteLine($"    {line.TrimEnd()}");
    }

    public void Summary(IReadOnlyList<StepResult> results, TimeSpan elapsed)
    {
        AnsiConsole.WriteLine();
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Seed 000 on FastPath: summary[/]");
        table.AddColumn("Step");
        table.AddColumn("Expectation");
        table.AddColumn("Observed (answers per cluster)");
        table.AddColumn("Result");
        foreach (var r in results)
            table.AddRow(
                new Text($"{r.Number}. {r.Name}"),
                new Text(r.Expected),
                new Text(r.Observed),
                new Markup(r.Passed ? "[green]pass[/]" : "[red]FAIL[/]"));
        AnsiConsole.Write(table);
        // Plain lines too: greppable in a log, and what the demo's own test reads.
        foreach (var r in results)
            Console.Out.WriteLine($"step {r.Number} {(r.Passed ? "pass" : "FAIL")}: {r.Name} — {r.Observed}");
        var failed = results.Where(r => !r.Passed).Select(r => r.Number.ToString()).ToList();
        Console.Out.WriteLine(failed.Count == 0
            ? $"demo passed: all {results.Count} steps behaved as expected ({elapsed.TotalSeconds:0.0} s)"
            : $"demo FAILED: step {string.Join(", ", failed)} did not behave as expected ({elapsed.TotalSeconds:0.0} s)");
    }

    public void Error(string text) => AnsiConsole.MarkupLine($"[red]{Markup.Escape(text)}[/]");
}
