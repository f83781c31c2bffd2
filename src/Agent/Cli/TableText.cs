using Spectre.Console;
using Spectre.Console.Rendering;

namespace FastPath.Agent.Cli;

/// <summary>
/// Renders a borderless Spectre.Console table to plain text (no ANSI, fixed wide width), so the
/// CLI's output is the same on a terminal, in a pipe and in tests. Cells are <see cref="Text"/>,
/// never markup: IPv6 brackets and pod names print as they are.
/// </summary>
internal static class TableText
{
    /// <summary>Wide enough that no realistic row wraps (wrapping would split "ip:port/TCP").</summary>
    private const int RenderWidth = 400;

    public static string Render(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = RenderWidth;
        var table = new Table().Border(TableBorder.None);
        foreach (string header in headers)
            table.AddColumn(new TableColumn(new Text(header)).NoWrap());
        foreach (var row in rows)
        {
            var cells = new IRenderable[row.Count];
            for (int i = 0; i < row.Count; i++)
                cells[i] = new Text(row[i]);
            table.AddRow(cells);
        }
        console.Write(table);
        // Trailing padding is noise in pipes and diffs.
        var lines = writer.ToString().Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd());
        return string.Join('\n', lines).TrimEnd('\n') + "\n";
    }
}
