using System.Diagnostics;
using System.Runtime.InteropServices;
using Datapath.Tests.Infrastructure;
using FastPath.Demo;

// `./build.sh demo`: seed 000's Cluster Mesh walkthrough on the real agent (see Walkthrough.cs).
// Exit codes: 0 every step behaved as expected, 1 some step did not, 2 set-up failed, 130 interrupted.
// SIGINT (Ctrl-C) and SIGTERM only cancel: the finally block below removes everything the run created.

const int AllPassed = 0, StepFailed = 1, SetupFailed = 2, Interrupted = 130;
var say = new Narrator();
using var interrupt = new CancellationTokenSource();
void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    if (!interrupt.IsCancellationRequested)
        Console.Error.WriteLine($"demo: {context.Signal} received, stopping and cleaning up");
    interrupt.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);

if (Preflight() is { } problem)
{
    say.Error($"demo: {problem}");
    return SetupFailed;
}

var clock = Stopwatch.StartNew();
DemoMesh? mesh = null;
try
{
    say.Title("FastPath cluster mesh demo: seed 000 (tokyo + hk) on a real agent");
    mesh = new DemoMesh(say.Progress, say.Fact);
    say.Progress($"ready after {clock.Elapsed.TotalSeconds:0.0} s");
    var results = new Walkthrough(mesh, say, interrupt.Token).Run();
    say.Summary(results, clock.Elapsed);
    return results.All(r => r.Passed) ? AllPassed : StepFailed;
}
catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
{
    say.Error("demo: interrupted");
    return Interrupted;
}
catch (Exception e)
{
    say.Error($"demo: set-up failed: {e.Message}");
    return interrupt.IsCancellationRequested ? Interrupted : SetupFailed;
}
finally
{
    if (mesh is not null)
    {
        mesh.Dispose();
        say.Progress($"cleaned up run {mesh.RunId}: agent stopped, etcd stopped, netns and veths deleted, temp and pin dirs removed");
    }
}

static string? Preflight()
{
    if (Environment.UserName != "root")
        return "run as root (network namespaces, XDP and bpffs need it)";
    if (!File.Exists(RepoPaths.Agent))
        return $"{RepoPaths.Agent} is missing: run ./build.sh build first";
    if (!File.Exists("/usr/bin/etcd"))
        return "/usr/bin/etcd is missing: ./build.sh setup installs etcd-server";
    return null;
}
