using System.Diagnostics;
using FastPath.Addressing;
using FastPath.Native;

namespace FastPath.NextHop;

/// <summary>
/// Keeps a <see cref="NextHopTable"/> of the destinations the workers asked for, from the
/// kernel's routing and neighbour tables (libfpshim's fp_nexthop__resolve_at over rtnetlink).
/// <code>
///  workers ──Want(dst)──► WantQueue (lock-free) ──► resolver thread ──rtnetlink──► kernel
///  workers ◄──Current (one Volatile.Read per batch)◄── new NextHopTable when anything changed
///  kernel ──RTNLGRP_NEIGH──► events thread ──answered hop──► resolver thread (retries at once)
/// </code>
/// Resolved entries are refreshed every <see cref="RefreshInterval"/>. For an unresolved one the
/// shim has already asked the kernel to resolve it (NTF_USE); the kernel's event that its next hop
/// became usable makes the resolver try it again at once, so frames held for it go within a
/// millisecond or two of the answer. Without such an event (lost, or none came) it is retried
/// after <see cref="FirstRetry"/>, doubling up to every <see cref="RetryInterval"/>, and forgotten after
/// <see cref="GiveUpAfter"/> until wanted again. Only destinations
/// whose egress device has a slot (deviceSlotOfIfindex returns non-null) get an entry; the others
/// stay absent and the worker passes or drops as it sees fit.
/// The rtnetlink socket is opened by the constructor, so lookups happen in the network namespace
/// of the thread that constructed the resolver.
/// </summary>
public sealed unsafe class NeighbourResolver : IDisposable
{
    /// <summary>How often a resolved entry is looked up again (MAC changes, route changes).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);
    /// <summary>How soon an unresolved destination is tried again at most (ARP/ND normally answer in well under this).</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);
    /// <summary>The first retry of a new destination; each miss doubles it up to <see cref="RetryInterval"/>.
    /// A neighbour on a veth answers within a millisecond, and workers hold frames for it meanwhile.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(2);
    /// <summary>An unresolved destination no worker asked for since this long is forgotten.</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(30);
    /// <summary>Bound on tracked destinations so a scan of many addresses cannot grow memory without limit.</summary>
    public const int MaxDestinations = 65536;

    private const int WantQueueCapacity = 4096;
    // Addresses taken from the kernel per wait; the kernel sends one neighbour per notification.
    private const int EventBatch = 64;
    // The loop sleeps until the next entry is due (refresh or retry) or Want() wakes it, and at
    // most this long. It used to wake every 20 ms to look for wants: 50 wake-ups a second cost an
    // idle agent 3–5 ms of CPU per second on a shared VM (perf harness, per-thread schedstat).
    private static readonly TimeSpan MaxSleep = TimeSpan.FromSeconds(1);

    private sealed class Entry
    {
        public NextHop? Hop;
        /// <summary>The neighbour an unresolved entry waits for: its gateway, or itself when on-link.</summary>
        public NetAddress WaitingOn;
        public long NextAttemptTicks;
        public long LastWantedTicks;
        /// <summary>Attempts in a row that found no neighbour (sets the retry delay).</summary>
        public int Misses;
    }

    private readonly Func<int, int?> _deviceSlotOfIfindex;
    private readonly WantQueue _wants = new(WantQueueCapacity);
    // Set by Want() so a sleeping resolver starts at once; reset by the resolver before it drains.
    private readonly ManualResetEventSlim _wanted = new(initialState: false, spinCount: 0);
    private readonly Dictionary<NetAddress, Entry> _entries = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly int _netlinkFd;
    private readonly long _firstRetryTicks;
    private readonly long _retryCapTicks;
    // Neighbour events: the events thread fills _answered and sets _eventsLost on overflow.
    private readonly Thread _eventsThread;
    private readonly int _eventsFd;
    private readonly int _eventsWakeFd;
    private readonly WantQueue _answered = new(WantQueueCapacity);
    private readonly HashSet<NetAddress> _answeredHops = new();
    private int _eventsLost;
    // Unresolved entries after the resolver's last pass. With none, the events thread drops events
    // without waking the resolver (a node's neighbours change state all the time). An answer that
    // comes before the pass that first missed has ended is left to that entry's first retry (2 ms).
    private int _waitingCount;
    private long _neighbourEvents;
    private NextHopTable _current = NextHopTable.Empty;
    private long _lookupFailures;

    /// <param name="deviceSlotOfIfindex">Egress ifindex → device slot, or null for a device FastPath
    /// does not drive. Called on the resolver thread.</param>
    /// <param name="firstRetry">Default <see cref="FirstRetry"/>.</param>
    /// <param name="retryInterval">Default <see cref="RetryInterval"/>.</param>
    public NeighbourResolver(Func<int, int?> deviceSlotOfIfindex, TimeSpan? firstRetry = null, TimeSpan? retryInterval = null)
    {
        _deviceSlotOfIfindex = deviceSlotOfIfindex;
        _firstRetryTicks = Ticks(firstRetry ?? FirstRetry);
        _retryCapTicks = Ticks(retryInterval ?? RetryInterval);
        NativeException.Check(NetlinkImports.Open(out _netlinkFd), "opening an rtnetlink socket");
        int status = NetlinkImports.OpenNeighbourEvents(out _eventsFd, out _eventsWakeFd);
        if (status != 0)
        {
            NetlinkImports.Close(_netlinkFd);
            NativeException.Check(status, "joining the kernel's neighbour events (RTNLGRP_NEIGH)");
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "fastpath-neighbours" };
        _eventsThread = new Thread(WatchNeighbours) { IsBackground = true, Name = "fastpath-neighbour-events" };
        _thread.Start();
        _eventsThread.Start();
    }

    /// <summary>The latest table. Workers read it once per batch.</summary>
    public NextHopTable Current => Volatile.Read(ref _current);

    /// <summary>Want() requests dropped because the queue was full.</summary>
    public long DroppedWants => _wants.Dropped;

    /// <summary>Lookups that failed for a reason other than "resolution in progress".</summary>
    public long LookupFailures => Interlocked.Read(ref _lookupFailures);

    /// <summary>Neighbours the kernel reported usable (any, not only those waited for).</summary>
    public long NeighbourEvents => Interlocked.Read(ref _neighbourEvents);

    /// <summary>
    /// Asks for dst to be resolved. Any thread, including workers in the hot path: non-blocking,
    /// no allocation, no lock (a preallocated lock-free queue). Call it on a table miss.
    /// </summary>
    /// <remarks>Workers call it once per batch per missing destination (not per packet); the
    /// wake-up only costs a syscall when the resolver is asleep.</remarks>
    public void Want(NetAddress destination)
    {
        _wants.TryEnqueue(destination);
        if (!_wanted.IsSet)
            _wanted.Set();
    }

    private void Run()
    {
        var token = _stop.Token;
        TimeSpan sleep = TimeSpan.Zero;
        while (true)
        {
            try
            {
                _wanted.Wait(sleep, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // Reset before draining: a Want() after the drain sets it again, so none is missed.
            _wanted.Reset();
            long now = Stopwatch.GetTimestamp();
            try
            {
                DrainWants(now);
                DrainAnswered(now);
                if (ResolveDue(now))
                    Publish();
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                // A bug here must not kill the resolver; count it and keep the last table.
                Interlocked.Increment(ref _lookupFailures);
            }
            sleep = UntilNextDue(now);
        }
    }

    /// <summary>Time until the earliest entry's next attempt, between 1 ms and <see cref="MaxSleep"/>.</summary>
    private TimeSpan UntilNextDue(long now)
    {
        long next = now + Ticks(MaxSleep);
        foreach (var entry in _entries.Values)
            next = Math.Min(next, entry.NextAttemptTicks);
        double ms = (next - now) * 1000.0 / Stopwatch.Frequency;
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 1, MaxSleep.TotalMilliseconds));
    }

    private void DrainWants(long now)
    {
        while (_wants.TryDequeue(out var destination))
        {
            if (_entries.TryGetValue(destination, out var entry))
            {
                entry.LastWantedTicks = now;
                continue;
            }
            if (_entries.Count >= MaxDestinations)
                continue;
            _entries[destination] = new Entry { NextAttemptTicks = now, LastWantedTicks = now };
        }
    }

    /// <summary>Unresolved entries whose neighbour answered are due now (all of them if events were lost).</summary>
    private void DrainAnswered(long now)
    {
        bool lost = Interlocked.Exchange(ref _eventsLost, 0) != 0;
        _answeredHops.Clear();
        while (_answered.TryDequeue(out var hop))
            _answeredHops.Add(hop);
        if (!lost && _answeredHops.Count == 0)
            return;
        foreach (var entry in _entries.Values)
            if (entry.Hop is null && (lost || _answeredHops.Contains(entry.WaitingOn)))
                entry.NextAttemptTicks = now;
    }

    /// <summary>The events thread: blocks in the kernel until a neighbour becomes usable or Dispose wakes it.</summary>
    private void WatchNeighbours()
    {
        NetAddress* answered = stackalloc NetAddress[EventBatch];
        while (true)
        {
            int count = NetlinkImports.WaitNeighbourEvents(_eventsFd, _eventsWakeFd, -1, answered, EventBatch);
            if (count == -NativeConstants.ECANCELED)
                return;
            if (count == -NativeConstants.ENOBUFS)
            {
                if (Volatile.Read(ref _waitingCount) > 0)
                {
                    Volatile.Write(ref _eventsLost, 1);
                    _wanted.Set();
                }
                continue;
            }
            if (count < 0)
            {
                // Not expected; retries still run on their timers. Do not spin on a lasting error.
                Interlocked.Increment(ref _lookupFailures);
                Thread.Sleep(MaxSleep);
                continue;
            }
            Interlocked.Add(ref _neighbourEvents, count);
            if (count == 0 || Volatile.Read(ref _waitingCount) == 0)
                continue;
            for (int i = 0; i < count; i++)
                if (!_answered.TryEnqueue(answered[i]))
                    Volatile.Write(ref _eventsLost, 1);
            _wanted.Set();
        }
    }

    private bool ResolveDue(long now)
    {
        bool changed = false;
        int waiting = 0;
        List<NetAddress>? forget = null;
        foreach (var (destination, entry) in _entries)
        {
            if (entry.NextAttemptTicks > now)
            {
                if (entry.Hop is null)
                    waiting++;
                continue;
            }
            NextHop? hop = Resolve(destination, out entry.WaitingOn);
            if (hop != entry.Hop)
            {
                entry.Hop = hop;
                changed = true;
            }
            if (hop is not null)
            {
                entry.NextAttemptTicks = now + Ticks(RefreshInterval);
                entry.LastWantedTicks = now;  // resolved entries stay while they resolve
                entry.Misses = 0;
            }
            else if (now - entry.LastWantedTicks > Ticks(GiveUpAfter))
            {
                (forget ??= new()).Add(destination);
            }
            else
            {
                entry.NextAttemptTicks = now + RetryDelayTicks(entry.Misses++);
                waiting++;
            }
        }
        Volatile.Write(ref _waitingCount, waiting);
        if (forget is not null)
            foreach (var destination in forget)
                _entries.Remove(destination);
        return changed;
    }

    private NextHop? Resolve(NetAddress destination, out NetAddress waitingOn)
    {
        waitingOn = destination;
        byte* bytes = stackalloc byte[16];
        destination.WriteBytes(new Span<byte>(bytes, 16));
        int family = destination.IsV4 ? NativeConstants.AfInet : NativeConstants.AfInet6;
        int status = NetlinkImports.ResolveAt(_netlinkFd, family, bytes, out var result);
        if (status != 0)
        {
            if (status != -NativeConstants.EAGAIN)
                Interlocked.Increment(ref _lookupFailures);
            else
                waitingOn = result.Gateway;  // the shim fills it before asking for the neighbour
            return null;
        }
        int? slot = _deviceSlotOfIfindex(result.Ifindex);
        if (slot is null)
            return null;
        return new NextHop(slot.Value,
            MacAddress.FromBytes(new ReadOnlySpan<byte>(result.SourceMac, 6)),
            MacAddress.FromBytes(new ReadOnlySpan<byte>(result.DestinationMac, 6)));
    }

    private void Publish()
    {
        var resolved = new Dictionary<NetAddress, NextHop>();
        foreach (var (destination, entry) in _entries)
            if (entry.Hop is { } hop)
                resolved[destination] = hop;
        // Release: the table is fully built before workers can see the reference.
        Volatile.Write(ref _current, new NextHopTable(resolved));
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private long RetryDelayTicks(int misses) =>
        Math.Min(_retryCapTicks, _firstRetryTicks << Math.Min(misses, 16));

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
            return;
        _stop.Cancel();
        NetlinkImports.WakeNeighbourEvents(_eventsWakeFd);
        _thread.Join();
        _eventsThread.Join();
        NetlinkImports.Close(_netlinkFd);
        NetlinkImports.CloseNeighbourEvents(_eventsFd, _eventsWakeFd);
        _stop.Dispose();
        // _wanted is not disposed: a worker may still call Want() while stopping (it has no kernel handle).
    }
}
