using System.Runtime.InteropServices;
using FastPath.Benchmarks.Maglev;
using FastPath.Benchmarks.Pipeline;

namespace FastPath.Benchmarks;

/// <summary>
/// <c>--cpu-loop</c>: the same benchmark bodies as BenchmarkDotNet runs, timed by the calling
/// thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) instead of wall time. On a machine shared with
/// other jobs (load average far above the core count) wall-clock means measure the neighbours;
/// thread CPU time only counts the time this thread actually ran (cache interference from the
/// neighbours remains). Reports the median of several rounds. Also a steady loop to attach
/// <c>perf record</c> to: <c>--cpu-loop established 30</c> spins the established case for 30 s (also: reply, batch, new, new-cached, maglev, and the C
/// reference's reference-established and reference-new-cached; a "-one" suffix, e.g. new-cached-one, for the ct of one worker);
/// <c>--cpu-loop maglev 30 16381 100</c> spins one Maglev build case (default M=65521, N=1000);
/// <c>--cpu-loop maglev-only</c> times only the four Maglev build cases; <c>--cpu-loop batch-vs-frame</c>,
/// <c>--cpu-loop breakdown</c> and <c>--cpu-loop reference</c> (the C# pipeline against the C reference of
/// the same work, perf/native/pf_pathref.c) compare cases side by side, alternating in one process.
/// </summary>
internal static class CpuLoop
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID, Linux
    private const int Rounds = 9;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    private static long ThreadCpuNs()
    {
        ClockGetTime(ClockThreadCpuTime, out Timespec t);
        return t.Seconds * 1_000_000_000L + t.Nanoseconds;
    }

    /// <summary>Only cases whose name contains this (<c>--cpu-loop only=new</c>, <c>--cpu-loop reference only=one</c>); all when empty.</summary>
    private static string _only = "";

    public static void Run(string[] args)
    {
        if (args.Length >= 1 && args[^1].StartsWith("only=", StringComparison.Ordinal))
        {
            _only = args[^1]["only=".Length..];
            args = args[..^1];
        }
        if (args.Length >= 2)
        {
            Spin(args[0], int.Parse(args[1]), args.Length >= 4 ? int.Parse(args[2]) : 65521, args.Length >= 4 ? int.Parse(args[3]) : 1000);
            return;
        }
        if (args.Length == 1 && args[0] == "batch-vs-frame")
        {
            CompareBatchWithPerFrame();
            return;
        }
        if (args.Length == 1 && args[0] == "breakdown")
        {
            Breakdown();
            return;
        }
        if (args.Length == 1 && args[0] == "reference")
        {
            CompareWithReference();
            return;
        }
        bool maglevOnly = args.Length == 1 && args[0] == "maglev-only";
        foreach (bool policy in maglevOnly ? [] : new[] { false, true })
        {
            var bench = new PipelineBenchmarks { Policy = policy };
            bench.Setup();
            Report($"harness only (frame copy + BeginBatch), policy {(policy ? "on" : "off")}", 1, () => Repeat(1_000_000, () => bench.HarnessOnly()));
            Report($"established DNAT, policy {(policy ? "on" : "off")}", 1, () => Repeat(1_000_000, () => bench.EstablishedForward()));
            Report($"established reverse NAT, policy {(policy ? "on" : "off")}", 1, () => Repeat(1_000_000, () => bench.EstablishedReply()));
            Report($"established DNAT, 64-frame batches, policy {(policy ? "on" : "off")}", 1, () => Repeat(20_000, () => bench.EstablishedForwardBatch()) / 64);
            Report($"established reverse NAT, 64-frame batches, policy {(policy ? "on" : "off")}", 1, () => Repeat(20_000, () => bench.EstablishedReplyBatch()) / 64);
            Report($"established DNAT, 64-frame batches of 65,536 flows, policy {(policy ? "on" : "off")}", 1, () => Repeat(20_000, () => bench.EstablishedForwardSpread()) / 64);
            Report($"new flow, policy {(policy ? "on" : "off")}", 0,
                () => FreshTableEach(bench.FreshTable, bench.NewFlow, PipelineBenchmarks.InvocationsPerIteration, PipelineBenchmarks.FlowsPerInvoke));
            // As BenchmarkDotNet runs it: one fresh table per iteration of 16 × 4096 flows, so
            // the table fills to 65,536 flows (half its capacity) and the templates span 5 MB.
            Report($"new flow, 65,536 into one table, policy {(policy ? "on" : "off")}", 0, () => NewFlowsIntoOneTable(bench));
        }
        foreach (int m in new[] { 16381, 65521 })
            foreach (int n in new[] { 100, 1000 })
            {
                string name = $"Maglev build M={m} N={n} (µs)";
                if (!Selected(name))
                    continue; // skip the set-up and the warm-up second too
                var build = new MaglevBuildBenchmarks { TableSize = m, Backends = n };
                build.Setup();
                // A second of builds first: 20 builds at M=16381 take ~5 ms, too short for tiered
                // compilation to have replaced the first-tier code of the fill loops.
                for (var until = DateTime.UtcNow.AddSeconds(1); DateTime.UtcNow < until;)
                    build.Build();
                Report(name, 1, () => Repeat(20, () => build.Build()) / 1000.0);
            }
    }

    /// <summary>ProcessBatch against Process frame by frame, alternating round by round in one
    /// process (so both see the same memory placement and neighbours): each line gives both
    /// medians and their ratio.</summary>
    private static void CompareBatchWithPerFrame()
    {
        foreach (bool policy in new[] { false, true })
        {
            var bench = new PipelineBenchmarks { Policy = policy };
            bench.Setup();
            Compare($"established DNAT, 64-frame batches, policy {(policy ? "on" : "off")}", bench,
                () => Repeat(20_000, () => bench.EstablishedForwardBatch()) / 64);
            Compare($"established reverse NAT, 64-frame batches, policy {(policy ? "on" : "off")}", bench,
                () => Repeat(20_000, () => bench.EstablishedReplyBatch()) / 64);
            Compare($"established DNAT, 64-frame batches of 65,536 flows, policy {(policy ? "on" : "off")}", bench,
                () => Repeat(20_000, () => bench.EstablishedForwardSpread()) / 64);
            Compare($"new flow, 65,536 into one table, policy {(policy ? "on" : "off")}", bench, () => NewFlowsIntoOneTable(bench));
        }
    }

    /// <summary>The parts of the established and the new-flow path (<see cref="PipelineBenchmarks"/>'s
    /// breakdown cases) and the whole, alternating round by round in one process: each line gives
    /// the medians in order, so the differences say what each added part costs.</summary>
    private static void Breakdown()
    {
        foreach (bool policy in new[] { false, true })
        {
            var bench = new PipelineBenchmarks { Policy = policy };
            bench.Setup();
            string on = policy ? "on" : "off";
            Alternate($"established flow, policy {on}: harness | + parse | + ct lookup | whole",
                () => Repeat(1_000_000, () => bench.HarnessOnly()),
                () => Repeat(1_000_000, () => bench.EstablishedParseOnly()),
                () => Repeat(1_000_000, () => bench.EstablishedParseAndLookup()),
                () => Repeat(1_000_000, () => bench.EstablishedForward()));
            Alternate($"new flow, 65,536 into one table, policy {on}: parse + ct miss | + ct insert | whole | whole batched | whole batched, ct in cache",
                () => IntoOneTable(bench.FreshTable, bench.NewFlowParseAndMiss),
                () => IntoOneTable(bench.FreshTable, bench.NewFlowParseAndInsert),
                () => { bench.PerFrame = true; return NewFlowsIntoOneTable(bench); },
                () => { bench.PerFrame = false; return NewFlowsIntoOneTable(bench); },
                () => FreshTableEach(bench.FreshCachedTable, bench.NewFlowCachedTable, 32, PipelineBenchmarks.CachedTableFlows));
        }
    }

    /// <summary>The C# pipeline against the C reference of the same per-packet work (policy off), alternating
    /// round by round in one process: each line gives both medians and their ratio. Established cases
    /// first: the new-flow cases clear both tables. The new-flow cases run twice: with the ct of an agent
    /// with several workers (claims by CAS), then with one worker's (plain-store claims).</summary>
    private static void CompareWithReference()
    {
        var bench = new PipelineBenchmarks { Policy = false };
        bench.Setup();
        bench.SetupReference();
        Versus("established DNAT, one flow",
            () => Repeat(1_000_000, () => bench.EstablishedForward()),
            () => Repeat(1, () => bench.ReferenceEstablished(1_000_000)) / 1_000_000);
        Versus("established DNAT, one flow, direct loop",
            () => Repeat(1, () => bench.EstablishedForwardLoop(1_000_000)) / 1_000_000,
            () => Repeat(1, () => bench.ReferenceEstablished(1_000_000)) / 1_000_000);
        Versus("established DNAT, 64-frame batches",
            () => Repeat(20_000, () => bench.EstablishedForwardBatch()) / 64,
            () => Repeat(20_000, () => bench.ReferenceEstablishedBatch()) / 64);
        Versus("established DNAT, 64-frame batches of 65,536 flows",
            () => Repeat(20_000, () => bench.EstablishedForwardSpread()) / 64,
            () => Repeat(20_000, () => bench.ReferenceEstablishedSpread()) / 64);
        NewFlowVersus(bench, "");

        // The same new-flow cases with the ct of an agent with one worker: claims without a CAS, both sides.
        const string OneWorker = ", one worker";
        if (!Selected(NewFlowIntoOneTable + OneWorker) && !Selected(NewFlowInCache + OneWorker))
            return;
        var one = new PipelineBenchmarks { Policy = false, SingleInserter = true };
        one.Setup();
        one.SetupReference();
        NewFlowVersus(one, OneWorker);
    }

    private const string NewFlowIntoOneTable = "new flow, 65,536 into one table";
    private const string NewFlowInCache = "new flow, ct of 8,192 entries (in cache)";

    /// <summary>The two new-flow cases against their C twins, over <paramref name="bench"/>'s ct mode.</summary>
    private static void NewFlowVersus(PipelineBenchmarks bench, string suffix)
    {
        Versus(NewFlowIntoOneTable + suffix,
            () => NewFlowsIntoOneTable(bench),
            () => IntoOneTable(bench.ReferenceFreshTable, bench.ReferenceNewFlow));
        Versus(NewFlowInCache + suffix,
            () => FreshTableEach(bench.FreshCachedTable, bench.NewFlowCachedTable, 32, PipelineBenchmarks.CachedTableFlows),
            () => FreshTableEach(bench.ReferenceFreshCachedTable, bench.ReferenceNewFlowCachedTable, 32, PipelineBenchmarks.CachedTableFlows));
    }

    private static void Versus(string name, Func<double> ours, Func<double> reference)
    {
        if (!Selected(name))
            return;
        var a = new double[Rounds];
        var b = new double[Rounds];
        for (int i = -1; i < Rounds; i++) // round -1 warms both up
        {
            double x = ours(), y = reference();
            if (i >= 0)
                (a[i], b[i]) = (x, y);
        }
        Array.Sort(a);
        Array.Sort(b);
        double ma = a[Rounds / 2], mb = b[Rounds / 2];
        Console.WriteLine($"{name}\tC# {ma:F1}\tC {mb:F1}\tratio {ma / mb:F2}");
    }

    private static void Alternate(string name, params Func<double>[] cases)
    {
        if (!Selected(name))
            return;
        var samples = new double[cases.Length][];
        for (int c = 0; c < cases.Length; c++)
            samples[c] = new double[Rounds];
        for (int i = -1; i < Rounds; i++) // round -1 warms every case up
            for (int c = 0; c < cases.Length; c++)
            {
                double ns = cases[c]();
                if (i >= 0)
                    samples[c][i] = ns;
            }
        var medians = new string[cases.Length];
        for (int c = 0; c < cases.Length; c++)
        {
            Array.Sort(samples[c]);
            medians[c] = samples[c][Rounds / 2].ToString("F1");
        }
        Console.WriteLine($"{name}\t{string.Join(" | ", medians)}");
    }

    private static void Compare(string name, PipelineBenchmarks bench, Func<double> round)
    {
        if (!Selected(name))
            return;
        var batch = new double[Rounds];
        var perFrame = new double[Rounds];
        for (int i = -1; i < Rounds; i++) // round -1 warms both up
        {
            bench.PerFrame = false;
            double b = round();
            bench.PerFrame = true;
            double f = round();
            if (i >= 0)
                (batch[i], perFrame[i]) = (b, f);
        }
        bench.PerFrame = false;
        Array.Sort(batch);
        Array.Sort(perFrame);
        double mb = batch[Rounds / 2], mf = perFrame[Rounds / 2];
        Console.WriteLine($"{name}\tbatch {mb:F1}\tper frame {mf:F1}\tratio {mb / mf:F2}");
    }

    /// <summary>ns per flow of 16 × 4,096 new flows into one fresh table, as BenchmarkDotNet fills it.</summary>
    private static double NewFlowsIntoOneTable(PipelineBenchmarks bench) => IntoOneTable(bench.FreshTable, bench.NewFlow);

    /// <summary>ns per flow of 16 invocations of a 4,096-flow case, all into one table cleared once first.</summary>
    private static double IntoOneTable(Action fresh, Func<int> invoke)
    {
        fresh();
        long t0 = ThreadCpuNs();
        for (int i = 0; i < PipelineBenchmarks.InvocationsPerIteration; i++)
            invoke();
        return (ThreadCpuNs() - t0) / ((double)PipelineBenchmarks.InvocationsPerIteration * PipelineBenchmarks.FlowsPerInvoke);
    }

    /// <summary>ns per flow of <paramref name="invocations"/> invocations, each into a table
    /// <paramref name="fresh"/> cleared first (the clearing not timed).</summary>
    private static double FreshTableEach(Action fresh, Func<int> invoke, int invocations, int flowsPerInvocation)
    {
        long ns = 0;
        for (int i = 0; i < invocations; i++)
        {
            fresh();
            long t0 = ThreadCpuNs();
            invoke();
            ns += ThreadCpuNs() - t0;
        }
        return ns / ((double)invocations * flowsPerInvocation);
    }

    private static double Repeat<T>(int count, Func<T> body)
    {
        long t0 = ThreadCpuNs();
        for (int i = 0; i < count; i++)
            body();
        return (ThreadCpuNs() - t0) / (double)count;
    }

    private static bool Selected(string name) => name.Contains(_only, StringComparison.Ordinal);

    private static void Report(string name, int warmups, Func<double> round)
    {
        if (!Selected(name))
            return;
        for (int i = 0; i < Math.Max(1, warmups); i++)
            round();
        var samples = new double[Rounds];
        for (int i = 0; i < Rounds; i++)
            samples[i] = round();
        Array.Sort(samples);
        Console.WriteLine($"{name}\t{samples[Rounds / 2]:F1}\tmin {samples[0]:F1}\tmax {samples[^1]:F1}");
    }

    private static void Spin(string what, int seconds, int tableSize, int backends)
    {
        if (what == "maglev")
        {
            var build = new MaglevBuildBenchmarks { TableSize = tableSize, Backends = backends };
            build.Setup();
            for (var end = DateTime.UtcNow.AddSeconds(seconds); DateTime.UtcNow < end;)
                build.Build();
            return;
        }
        // "-one" (e.g. new-cached-one): the ct of an agent with one worker, claims without a CAS.
        bool oneWorker = what.EndsWith("-one", StringComparison.Ordinal);
        if (oneWorker)
            what = what[..^"-one".Length];
        var bench = oneWorker ? new OneWorkerPipelineBenchmarks { Policy = false } : new PipelineBenchmarks { Policy = false };
        bench.Setup();
        if (what.StartsWith("reference-", StringComparison.Ordinal))
            bench.SetupReference();
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (what == "reference-new-cached")
            {
                bench.ReferenceFreshCachedTable();
                bench.ReferenceNewFlowCachedTable();
                continue;
            }
            if (what == "reference-established")
            {
                bench.ReferenceEstablished(1_000_000);
                continue;
            }
            if (what == "new")
            {
                bench.FreshTable();
                bench.NewFlow();
                continue;
            }
            if (what == "new-cached")
            {
                bench.FreshCachedTable();
                bench.NewFlowCachedTable();
                continue;
            }
            for (int i = 0; i < 100_000; i++)
            {
                if (what == "batch")
                    bench.EstablishedForwardBatch();
                else if (what == "reply")
                    bench.EstablishedReply();
                else
                    bench.EstablishedForward();
            }
        }
    }
}
