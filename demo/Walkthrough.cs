using System.Diagnostics;

namespace FastPath.Demo;

/// <summary>
/// Seed 000 (Cilium Cluster Mesh: global services, affinity, cross-cluster policy) step by step on the
/// real agent. Each step changes what a cluster publishes (tokyo's manifests, hk's etcd), waits until
/// the requests show the change (bounded by <see cref="ConvergeTimeout"/>), then sends a counted batch
/// as evidence and shows what the CLI says. A step that fails is reported and the walkthrough goes on.
/// </summary>
internal sealed class Walkthrough(DemoMesh mesh, Narrator say, CancellationToken stop)
{
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(30);
    private const int EvidenceRequests = 40;
    /// <summary>Step 3: answers the background load must get from each side before the next change.</summary>
    private const int LoadAnswersPerPhase = 10;
    private const string Tokyo = Topology.Tokyo, Hk = Topology.Hk;

    public IReadOnlyList<StepResult> Run() =>
    [
        Guard(1, "global, tokyo has no endpoints", "every answer from hk", Step1RemoteOnly),
        Guard(2, "global, both clusters have pods", "answers from tokyo and hk", Step2Spread),
        Guard(3, "affinity=local, tokyo pods removed, restored", "tokyo; then hk with 0 failed; then tokyo", Step3AffinityLocal),
        Guard(4, "affinity=remote", "every answer from hk", Step4AffinityRemote),
        Guard(5, "shared=false on hk", "tokyo loses hk's pods: every answer from tokyo", Step5NotShared),
        Guard(6, "CNP: netshoot → bookstore in tokyo only", "drops (policy_denied); policy-aware: 0 failed", Step6Policy),
    ];

    private StepResult Step1RemoteOnly(Func<string, bool, StepResult> result)
    {
        say.Say("tokyo's Service default/bookstore has a ClusterIP and the annotation service.cilium.io/global: \"true\",");
        say.Say("but no EndpointSlice: tokyo runs no bookstore pod. hk exports its two pods through its etcd.");
        var answers = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Hk), "answers from hk only");
        ShowServices();
        say.Cli("fastpath status", mesh.Cli("status"));
        say.Cli("fastpath node list", mesh.Cli("node", "list"));
        return result(answers.ByCluster, answers.FailedCount == 0 && answers.AnsweredByExactly(Hk));
    }

    private StepResult Step2Spread(Func<string, bool, StepResult> result)
    {
        say.Say("tokyo starts its own two bookstore pods (an EndpointSlice with tokyo-0 and tokyo-1).");
        mesh.Manifests.WriteSlice(Topology.TokyoPods);
        var answers = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo, Hk), "answers from both clusters");
        ShowServices();
        return result(answers.ByCluster, answers.FailedCount == 0 && answers.AnsweredByExactly(Tokyo, Hk));
    }

    private StepResult Step3AffinityLocal(Func<string, bool, StepResult> result)
    {
        say.Say("service.cilium.io/affinity: local — prefer tokyo's pods; use hk's only while tokyo has none.");
        mesh.Manifests.WriteService("local");
        var local = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo), "answers from tokyo only");
        ShowServices();

        say.Say("Requests keep running on a thread of their own while tokyo's pods go away and come back.");
        using var load = new BackgroundLoad(mesh.Net);
        bool loadSawTokyo = load.WaitForAnswers(Tokyo, LoadAnswersPerPhase, ConvergeTimeout, stop);
        say.Say("tokyo's EndpointSlice is deleted (its pods are gone).");
        long removalWritten = Stopwatch.GetTimestamp();
        mesh.Manifests.DeleteSlice();
        bool loadSawHk = load.WaitForAnswers(Hk, LoadAnswersPerPhase, ConvergeTimeout, stop);
        long hkAnswering = Stopwatch.GetTimestamp();
        var failover = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Hk), "hk takes over");
        say.Say("tokyo's EndpointSlice is back.");
        mesh.Manifests.WriteSlice(Topology.TokyoPods);
        bool loadSawTokyoAgain = load.WaitForAnswers(Tokyo, LoadAnswersPerPhase, ConvergeTimeout, stop);
        var back = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo), "tokyo again");
        Tally during = load.Stop();
        say.Answers("the requests that ran through removal and return", during);
        // The load sends one request at a time, so at most one is in flight on a tokyo pod when the
        // agent drops tokyo's endpoints; that connection is cut (its backend is gone — Cilium cuts
        // it too). Any other failure — a new connection refused or lost — fails the step.
        int cut = during.FailedDuring(removalWritten, hkAnswering);
        int otherFailures = during.FailedCount - cut;
        bool noFailure = otherFailures == 0 && cut <= 1 && loadSawTokyo && loadSawHk && loadSawTokyoAgain;
        string cutNote = cut == 1 ? " except the one in flight on a tokyo pod when its endpoints went away (cut, as its backend was removed)" : "";
        say.Verdict(noFailure, noFailure ? $"{during.Total} requests ran through the failover and back, none failed{cutNote}"
            : during.FailedCount > 0 ? $"{during.FailedCount} of {during.Total} requests failed during the failover ({cut} in flight at the removal)"
            : $"the load did not get {LoadAnswersPerPhase} answers from each side in turn within {ConvergeTimeout.TotalSeconds:0} s");
        bool passed = local.AnsweredByExactly(Tokyo) && local.FailedCount == 0 && failover.AnsweredByExactly(Hk)
            && failover.FailedCount == 0 && back.AnsweredByExactly(Tokyo) && back.FailedCount == 0 && noFailure;
        return result($"local: {local.ByCluster} | removed: {failover.ByCluster} | restored: {back.ByCluster} | " +
            $"during: {during.Total} requests, {otherFailures} failed" + (cut > 0 ? $" ({cut} cut at the removal)" : ""), passed);
    }

    private StepResult Step4AffinityRemote(Func<string, bool, StepResult> result)
    {
        say.Say("service.cilium.io/affinity: remote — prefer hk's pods (a drill: move traffic out of tokyo).");
        mesh.Manifests.WriteService("remote");
        var answers = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Hk), "answers from hk only");
        ShowServices();
        return result(answers.ByCluster, answers.FailedCount == 0 && answers.AnsweredByExactly(Hk));
    }

    private StepResult Step5NotShared(Func<string, bool, StepResult> result)
    {
        say.Say("Affinity back to none: both clusters answer again.");
        mesh.Manifests.WriteService(affinity: null);
        Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo, Hk), "both clusters", evidence: false);
        say.Say("hk annotates its bookstore service.cilium.io/shared: \"false\": hk keeps using tokyo's pods,");
        say.Say("but stops exporting its own, so tokyo loses hk's backends.");
        CiliumState.PutHkService(mesh.HkEtcd!, Topology.HkPods, shared: false);
        var answers = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo), "answers from tokyo only");
        ShowServices();
        return result(answers.ByCluster, answers.FailedCount == 0 && answers.AnsweredByExactly(Tokyo));
    }

    private StepResult Step6Policy(Func<string, bool, StepResult> result)
    {
        say.Say("hk shares bookstore again (affinity none: Maglev spreads over all four pods).");
        CiliumState.PutHkService(mesh.HkEtcd!, Topology.HkPods, shared: true);
        Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo, Hk), "both clusters", evidence: false);

        say.Say("Seed 000's CiliumNetworkPolicy: netshoot (the client) may reach app=bookstore only where");
        say.Say("io.cilium.k8s.policy.cluster is tokyo. Maglev still picks hk's pods for some flows: those are dropped.");
        mesh.Manifests.WritePolicy();
        var dropped = Converge(t => t.FailedCount > 0 && t.AnsweredByExactly(Tokyo), "drops, and answers from tokyo only",
            Traffic.ShortConnect);
        say.Cli("fastpath identity list", mesh.Cli("identity", "list"));
        say.Cli("fastpath policy get", mesh.Cli("policy", "get"));
        string observe = mesh.Cli("observe", "--verdict", "DROPPED");
        say.Cli("fastpath observe --verdict DROPPED   (last lines)", LastLines(observe, 6));
        bool denied = observe.Contains("policy_denied", StringComparison.Ordinal);
        say.Verdict(dropped.FailedCount > 0 && denied, $"{dropped.FailedCount} of {dropped.Total} requests failed; " +
            (denied ? "observe shows them DROPPED with reason policy_denied" : "observe shows no policy_denied drop"));

        say.Say("Restart the agent with --lb-policy-aware-selection: Maglev picks only among the pods the policy allows.");
        mesh.StopAgent();
        mesh.StartAgent(say.Progress, "--lb-policy-aware-selection");
        var aware = Converge(t => t.FailedCount == 0 && t.AnsweredByExactly(Tokyo), "answers from tokyo only, none failed");
        bool passed = dropped.FailedCount > 0 && dropped.AnsweredByExactly(Tokyo) && denied
            && aware.FailedCount == 0 && aware.AnsweredByExactly(Tokyo);
        return result($"default: {dropped.ByCluster} (policy_denied: {(denied ? "shown" : "missing")}) | " +
            $"policy-aware: {aware.ByCluster}", passed);
    }

    /// <summary>
    /// Waits for the agent to show a change, then sends <see cref="EvidenceRequests"/> counted requests and
    /// draws them. Returns the evidence (or the last round, when the change never showed).
    /// </summary>
    private Tally Converge(Func<Tally, bool> done, string what, TimeSpan? connect = null, bool evidence = true)
    {
        TimeSpan timeout = connect ?? Traffic.PatientConnect;
        Tally? converged = Traffic.WaitFor(mesh.Net, done, timeout, ConvergeTimeout, stop);
        if (converged is null)
        {
            var last = Traffic.Round(mesh.Net, EvidenceRequests, timeout, stop);
            say.Answers($"still not '{what}' after {ConvergeTimeout.TotalSeconds:0} s", last);
            return last;
        }
        if (!evidence)
            return converged;
        var tally = Traffic.Round(mesh.Net, EvidenceRequests, timeout, stop);
        say.Answers(what, tally);
        return tally;
    }

    private void ShowServices() =>
        say.Cli("fastpath service list --clustermesh-affinity", mesh.Cli("service", "list", "--clustermesh-affinity"));

    private static string LastLines(string text, int count)
    {
        var lines = text.TrimEnd().Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - count)));
    }

    /// <summary>Runs one step; an exception (other than Ctrl-C) fails that step with its message.</summary>
    private StepResult Guard(int number, string name, string expected, Func<Func<string, bool, StepResult>, StepResult> step)
    {
        stop.ThrowIfCancellationRequested();
        say.Step(number, $"{name} → expect {expected}");
        StepResult Result(string observed, bool passed) => new(number, name, expected, observed, passed);
        StepResult result;
        try
        {
            result = step(Result);
            say.Verdict(result.Passed, result.Passed ? $"step {number} behaved as expected" : $"step {number} did NOT behave as expected");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            say.Error($"step {number} failed: {e.Message}");
            result = Result($"error: {e.GetType().Name}", false);
        }
        // A failed step shows what the agent dropped lately and the loss counters that are not
        // zero (the AF_XDP rings' own among them), so the account says where a request was lost —
        // or that neither the agent nor its rings lost it.
        if (!result.Passed)
        {
            say.Cli("fastpath observe --verdict DROPPED   (last lines)", LastLines(mesh.Cli("observe", "--verdict", "DROPPED"), 8));
            say.Cli($"fastpath metrics list -p '{LossMetrics}'   (not zero)", NonZeroRows(mesh.Cli("metrics", "list", "-p", LossMetrics)));
        }
        return result;
    }

    /// <summary>The counters of packets lost on the agent's side: its drops by reason, the kernel's
    /// XDP_STATISTICS losses per socket (not tx_ring_empty_descs: the kernel finding nothing to send
    /// is no loss), TX ring overflows and failed reply-tuple writes.</summary>
    private const string LossMetrics =
        "^fastpath_(drops_total|xsk_rx_.*|xsk_tx_invalid_descs_total|worker_tx_ring_full_total|worker_flow_map_update_failures_total)$";

    /// <summary>The header and the rows of a metrics list whose value is not 0 (or the CLI's error as is).</summary>
    private static string NonZeroRows(string metricsList)
    {
        var lines = metricsList.TrimEnd().Split('\n');
        if (lines.Length == 0 || !lines[0].StartsWith("Metric", StringComparison.Ordinal))
            return metricsList;
        var kept = lines.Skip(1).Where(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } f && f[^1] != "0").ToList();
        return kept.Count == 0 ? "(every loss counter is 0)" : string.Join('\n', kept.Prepend(lines[0]));
    }
}
