using FastPath.Conntrack;
using FastPath.Native;

namespace FastPath.Runtime;

/// <summary>
/// Background expiry of conntrack: walks the table a slice at a time (each removal is one CAS, so
/// workers are never stalled) and deletes the reply tuples of expired flows from fp_flows in
/// batches. A full pass over the table takes about <see cref="PassDuration"/>.
/// </summary>
public sealed class CtSweeper : IDisposable
{
    /// <summary>Time for one pass over the whole table: short next to the shortest ct lifetime (10 s).</summary>
    public static readonly TimeSpan PassDuration = TimeSpan.FromSeconds(5);
    /// <summary>Pause between slices.</summary>
    private static readonly TimeSpan SliceInterval = TimeSpan.FromMilliseconds(100);

    private readonly CtTable _ct;
    private readonly BpfMap? _flows;
    private readonly FlowReplyKey[] _expired = new FlowReplyKey[4096];
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private long _swept;

    public CtSweeper(CtTable ct, BpfMap? flows)
    {
        _ct = ct;
        _flows = flows;
        _thread = new Thread(Run) { IsBackground = true, Name = "fp-ct-sweeper" };
    }

    /// <summary>Flows removed by expiry so far.</summary>
    public long Swept => Interlocked.Read(ref _swept);

    public void Start() => _thread.Start();

    private void Run()
    {
        int slices = (int)(PassDuration / SliceInterval);
        int bucketsPerSlice = Math.Max(1, (_ct.BucketCount + slices - 1) / slices);
        int next = 0;
        while (!_stop.Wait(SliceInterval))
        {
            int start = next;
            int remaining = bucketsPerSlice;
            while (remaining > 0)
            {
                int n = _ct.Sweep(start, remaining, Environment.TickCount64, _expired, out int after);
                if (n > 0)
                {
                    _flows?.DeleteBatch<FlowReplyKey>(_expired.AsSpan(0, n));
                    Interlocked.Add(ref _swept, n);
                }
                int done = after == 0 ? _ct.BucketCount - start : after - start;
                remaining -= Math.Max(done, 1);
                start = after;
                if (after == 0)
                    break;
            }
            next = start;
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
