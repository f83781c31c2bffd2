using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Model;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace FastPath.ControlPlane.Static;

/// <summary>
/// Reads `--services FILE` into a <see cref="DesiredState"/>: every (vip, port) becomes a
/// frontend whose backends are the listed addresses at the port's targetPort (or the backend's
/// own port). Errors name the file, the place in it and what was expected.
/// </summary>
public static class StaticServicesFile
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    public static DesiredState Load(string path, string localClusterName, long revision) =>
        Parse(ReadText(path), path, localClusterName, revision);

    /// <summary>The file's text; a file that cannot be read is a <see cref="ConfigFileException"/>.</summary>
    public static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigFileException(path, $"cannot read the services file: {e.Message}", e);
        }
    }

    public static DesiredState Parse(string yaml, string path, string localClusterName, long revision)
    {
        StaticServicesDocument? document;
        try
        {
            document = Deserializer.Deserialize<StaticServicesDocument>(yaml);
        }
        catch (YamlException e)
        {
            string detail = e.InnerException?.Message ?? e.Message;
            throw new ConfigFileException(path, $"line {e.Start.Line}, column {e.Start.Column}: {detail}", e);
        }
        if (document?.Services is null)
            throw new ConfigFileException(path, "expected a top-level 'services:' list");

        var frontends = ImmutableArray.CreateBuilder<DesiredFrontend>();
        var seen = new HashSet<(NetAddress, ushort, L4Protocol)>();
        for (int s = 0; s < document.Services.Count; s++)
        {
            var entry = document.Services[s];
            string where = $"services[{s}]";
            var service = new ServiceName(
                Required(entry.Namespace, path, $"{where}.namespace"),
                Required(entry.Name, path, $"{where}.name"));
            if (!NetAddress.TryParse(entry.Vip, out var vip))
                throw new ConfigFileException(path, $"{where}.vip: expected an IPv4 or IPv6 address, got '{entry.Vip}'");
            if (entry.Ports is not { Count: > 0 })
                throw new ConfigFileException(path, $"{where}.ports: expected at least one port");

            for (int p = 0; p < entry.Ports.Count; p++)
            {
                var port = entry.Ports[p];
                string portWhere = $"{where}.ports[{p}]";
                ushort number = PortNumber(port.Port, path, $"{portWhere}.port");
                ushort target = port.TargetPort is null ? number : PortNumber(port.TargetPort, path, $"{portWhere}.targetPort");
                var protocol = Protocol(port.Protocol, path, $"{portWhere}.protocol");
                if (!seen.Add((vip, number, protocol)))
                    throw new ConfigFileException(path, $"{portWhere}: frontend {vip}:{number}/{protocol.ToName()} is listed twice");

                var backends = ImmutableArray.CreateBuilder<BackendSpec>();
                for (int b = 0; b < (entry.Backends?.Count ?? 0); b++)
                {
                    var backend = entry.Backends![b];
                    string backendWhere = $"{where}.backends[{b}]";
                    if (!NetAddress.TryParse(backend.Address, out var address))
                        throw new ConfigFileException(path, $"{backendWhere}.address: expected an IPv4 or IPv6 address, got '{backend.Address}'");
                    if (address.IsV4 != vip.IsV4)
                        throw new ConfigFileException(path, $"{backendWhere}.address: {address} is not of the same IP family as the vip {vip}");
                    ushort backendPort = backend.Port is null ? target : PortNumber(backend.Port, path, $"{backendWhere}.port");
                    ushort weight = backend.Weight is null ? BackendSpec.DefaultWeight : Weight(backend.Weight.Value, path, $"{backendWhere}.weight");
                    backends.Add(new BackendSpec(address, backendPort, protocol, backend.Cluster ?? localClusterName, weight));
                }
                var all = backends.ToImmutable();
                frontends.Add(new DesiredFrontend(service, vip, number, protocol, port.Name ?? "", all, all));
            }
        }
        return new DesiredState(revision, frontends.ToImmutable());
    }

    private static string Required(string? value, string path, string where) =>
        string.IsNullOrWhiteSpace(value) ? throw new ConfigFileException(path, $"{where}: required") : value;

    private static ushort PortNumber(int? value, string path, string where) =>
        value is >= 1 and <= 65535 ? (ushort)value.Value
            : throw new ConfigFileException(path, $"{where}: expected a port number 1-65535, got '{value}'");

    private static ushort Weight(int value, string path, string where) =>
        value is >= 1 and <= 65535 ? (ushort)value
            : throw new ConfigFileException(path, $"{where}: expected a weight 1-65535, got {value}");

    private static L4Protocol Protocol(string? value, string path, string where)
    {
        if (value is null)
            return L4Protocol.Tcp;
        if (L4ProtocolNames.TryParse(value, out var protocol) && protocol is L4Protocol.Tcp or L4Protocol.Udp)
            return protocol;
        throw new ConfigFileException(path, $"{where}: expected TCP or UDP, got '{value}'");
    }
}
