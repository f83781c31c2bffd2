namespace FastPath.Agent.Stats;

/// <summary>
/// GET /healthz: healthy once XDP is attached on every device and every configured cluster
/// (the local kvstore and each remote) has finished its initial sync — or
/// <see cref="StatsSources.InitialSyncTimeout"/> has passed since start, so one unreachable
/// remote cannot keep the node out of service.
/// </summary>
internal static class HealthCheck
{
    public readonly record struct Result(bool Healthy, string Reason);

    public static Result Evaluate(StatsSources sources)
    {
        var datapath = sources.Datapath;
        if (datapath.AttachModes.Count < datapath.Devices.Count)
            return new(false, $"XDP attached on {datapath.AttachModes.Count}/{datapath.Devices.Count} devices");
        foreach (var worker in datapath.Workers)
            if (worker.Failure is { } failure)
                return new(false, $"worker for queue {worker.Queue} stopped: {failure.Message}");
        if (sources.Mesh is not { } mesh)
            return new(true, "ok");

        var status = mesh.Status;
        var waiting = new List<string>();
        if (status.Local is { } local && !local.Ready)
            waiting.Add($"{local.Name} (local kvstore)");
        foreach (var remote in status.Remotes)
            if (!remote.Ready)
                waiting.Add(remote.Name);
        if (waiting.Count == 0)
            return new(true, "ok");
        bool timedOut = DateTimeOffset.UtcNow - sources.StartedAt > StatsSources.InitialSyncTimeout;
        string list = string.Join(", ", waiting);
        return timedOut
            ? new(true, $"ok (initial sync timeout {StatsSources.InitialSyncTimeout.TotalSeconds:0} s passed; not ready: {list})")
            : new(false, $"waiting for initial sync of {list}");
    }
}
