using FastPath.Agent;
using FastPath.ControlPlane;
using FastPath.ControlPlane.Model;

namespace Operator.Tests.Standalone;

/// <summary>
/// The standalone services file re-read under edits, polled by hand (no timer): a change is
/// applied once two polls read the same text, so a file caught mid-write is never parsed; a bad
/// or missing file is reported once and the last good services stay; only good loads take a
/// revision.
/// </summary>
public sealed class ServicesFileSourceTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"fastpath-services-source-{Guid.NewGuid():N}.yaml");
    private readonly List<DesiredState> _published = new();
    private readonly List<string> _errors = new();

    private static string ServicesYaml(params string[] backends) =>
        "services:\n" +
        "  - { namespace: default, name: echo, vip: 10.96.0.10, ports: [ { protocol: TCP, port: 80, targetPort: 8080 } ],\n" +
        "      backends: [ " + string.Join(", ", backends.Select(b => $"{{ address: {b} }}")) + " ] }\n";

    private ServicesFileSource Start(string yaml)
    {
        File.WriteAllText(_path, yaml);
        return new ServicesFileSource(_path, "tokyo", _published.Add, _errors.Add, Timeout.InfiniteTimeSpan);
    }

    private IEnumerable<string> LastBackends() =>
        _published[^1].Frontends.SelectMany(f => f.Backends).Select(b => b.Address.ToString()).Distinct();

    [Fact]
    public void A_file_caught_mid_write_is_not_parsed_and_the_finished_file_takes_the_next_revision()
    {
        using var source = Start(ServicesYaml("10.0.1.1"));
        Assert.Equal(1, _published.Single().Revision);

        string next = ServicesYaml("10.0.1.1", "10.0.1.2");
        File.WriteAllText(_path, next[..(next.Length / 3)]);   // a writer that has written a third so far
        source.Poll();
        File.WriteAllText(_path, next);
        source.Poll();
        Assert.Single(_published);                               // still settling: nothing parsed yet
        source.Poll();

        Assert.Empty(_errors);
        Assert.Equal(2, _published.Count);
        Assert.Equal(2, _published[^1].Revision);
        Assert.Equal(new[] { "10.0.1.1", "10.0.1.2" }, LastBackends());
        source.Poll();
        Assert.Equal(2, _published.Count);                       // unchanged text: nothing republished
    }

    [Fact]
    public void A_bad_edit_is_reported_once_keeps_the_last_good_services_and_takes_no_revision()
    {
        using var source = Start(ServicesYaml("10.0.1.1"));

        File.WriteAllText(_path, "services: [ { name: echo, vip: not-an-address } ]\n");
        for (int i = 0; i < 4; i++)
            source.Poll();
        var error = Assert.Single(_errors);
        Assert.StartsWith(_path + ": ", error);
        Assert.EndsWith("(keeping the last good services)", error);
        Assert.Single(_published);

        File.WriteAllText(_path, ServicesYaml("10.0.1.3"));
        source.Poll();
        source.Poll();
        Assert.Equal(2, _published[^1].Revision);
        Assert.Equal(new[] { "10.0.1.3" }, LastBackends());
    }

    [Fact]
    public void A_removed_file_is_reported_once_and_its_return_is_applied()
    {
        using var source = Start(ServicesYaml("10.0.1.1"));

        File.Delete(_path);
        for (int i = 0; i < 3; i++)
            source.Poll();
        var error = Assert.Single(_errors);
        Assert.Contains("cannot read the services file", error);
        Assert.Single(_published);

        File.WriteAllText(_path, ServicesYaml("10.0.1.4"));
        source.Poll();
        source.Poll();
        Assert.Equal(2, _published[^1].Revision);
        Assert.Equal(new[] { "10.0.1.4" }, LastBackends());
    }

    [Fact]
    public void A_bad_file_at_start_up_stops_with_its_name()
    {
        var error = Assert.Throws<ConfigFileException>(() => Start("ports: [ 80 ]\n"));
        Assert.Equal(_path, error.Path);
        Assert.Empty(_published);
    }

    public void Dispose() => File.Delete(_path);
}
