using FastPath.Xsk;

namespace FastPath.Native;

/// <summary>
/// The loaded fp_steer program and its pinned maps. Owns the attachments it made: Dispose
/// detaches every device it attached, closes the object and unpins the maps (removing the pin
/// directory when it is empty). Attachments are BPF links held by this process, so a process
/// killed before Dispose detaches anyway; the pin directory is locked while loaded, and pins a
/// killed predecessor left there are replaced. Set-up code only: every method may throw
/// <see cref="NativeException"/>.
/// </summary>
public sealed unsafe class SteeringProgram : IDisposable
{
    private IntPtr _handle;
    private readonly FpSteerFds _fds;
    /// <summary>ifindex → (mode, BPF link fd) of every attachment this instance made.</summary>
    private readonly Dictionary<int, (XdpMode Mode, int LinkFd)> _attached = new();
    private readonly object _gate = new();

    public string PinDirectory { get; }
    /// <summary>fp_services: ServiceMapKey → ServiceMapValue.</summary>
    public BpfMap Services { get; }
    /// <summary>fp_flows (LRU): Conntrack.FlowReplyKey → FlowMapValue.</summary>
    public BpfMap Flows { get; }
    /// <summary>fp_xsks (XSKMAP): slot * MaxQueues + queue → socket fd.</summary>
    public BpfMap Xsks { get; }
    /// <summary>fp_dev_slots: ifindex (uint) → slot (uint).</summary>
    public BpfMap DeviceSlots { get; }
    /// <summary>fp_steer_counters (per-CPU): index (uint) → ulong.</summary>
    public BpfMap Counters { get; }

    private SteeringProgram(IntPtr handle, FpSteerFds fds, string pinDirectory)
    {
        _handle = handle;
        _fds = fds;
        PinDirectory = pinDirectory;
        Services = new BpfMap("fp_services", fds.Services, sizeof(ServiceMapKey), sizeof(ServiceMapValue));
        Flows = new BpfMap("fp_flows", fds.Flows, sizeof(Conntrack.FlowReplyKey), sizeof(FlowMapValue));
        Xsks = new BpfMap("fp_xsks", fds.Xsks, sizeof(uint), sizeof(uint));
        DeviceSlots = new BpfMap("fp_dev_slots", fds.DevSlots, sizeof(uint), sizeof(uint));
        Counters = new BpfMap("fp_steer_counters", fds.Counters, sizeof(uint), sizeof(ulong));
    }

    /// <summary>The fp_steer.bpf.o found next to libfpshim.so (see ShimLibrary's search order).</summary>
    public static string DefaultObjectPath => ShimLibrary.RequireFile(ShimLibrary.SteerObjectFileName);

    /// <summary>Loads the object and pins its maps under pinDirectory (created if missing; must be on bpffs).</summary>
    public static SteeringProgram Load(string objectPath, string pinDirectory)
    {
        if (!File.Exists(objectPath))
            throw new FileNotFoundException($"BPF object {objectPath} does not exist", objectPath);
        int status = SteerImports.Open(objectPath, pinDirectory, out var handle, out var fds);
        if (status < 0)
            NativeException.Throw(-status, $"loading {objectPath} and pinning its maps in {pinDirectory}");
        return new SteeringProgram(handle, fds, pinDirectory);
    }

    /// <summary>Attaches fp_steer to ifindex (in the calling thread's netns); returns the mode used.</summary>
    public XdpMode Attach(int ifindex, XdpMode requested)
    {
        ThrowIfDisposed();
        int status = SteerImports.Attach(ifindex, _fds.Prog, (int)requested, out int used, out int linkFd);
        if (status < 0)
            NativeException.Throw(-status, $"attaching XDP ({requested}) to ifindex {ifindex}");
        lock (_gate)
            _attached[ifindex] = ((XdpMode)used, linkFd);
        return (XdpMode)used;
    }

    public void Detach(int ifindex)
    {
        (XdpMode Mode, int LinkFd) attachment;
        lock (_gate)
        {
            if (!_attached.Remove(ifindex, out attachment))
                return;
        }
        int status = SteerImports.Detach(attachment.LinkFd);
        if (status < 0)
            NativeException.Throw(-status, $"detaching XDP ({attachment.Mode}) from ifindex {ifindex}");
    }

    /// <summary>fp_dev_slots[ifindex] = slot: frames arriving on ifindex use the sockets of that slot.</summary>
    public void RegisterDevice(int ifindex, int slot)
    {
        ThrowIfDisposed();
        if ((uint)slot >= NativeConstants.MaxDevices)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"device slot must be 0..{NativeConstants.MaxDevices - 1}");
        NativeException.Check(SteerImports.RegisterDevice(_fds.DevSlots, ifindex, (uint)slot),
            $"registering ifindex {ifindex} as device slot {slot}");
    }

    /// <summary>fp_xsks[slot * MaxQueues + queue] = socket: frames of that (device, queue) go to it.</summary>
    public void RegisterSocket(int slot, int queue, XskSocket socket)
    {
        ThrowIfDisposed();
        uint key = XsksKey(slot, queue);
        NativeException.Check(XskImports.Register(_fds.Xsks, key, socket.Fd),
            $"registering the AF_XDP socket of device slot {slot} queue {queue}");
    }

    public void UnregisterSocket(int slot, int queue)
    {
        ThrowIfDisposed();
        int status = XskImports.Unregister(_fds.Xsks, XsksKey(slot, queue));
        if (status < 0 && status != -NativeConstants.ENOENT)
            NativeException.Throw(-status, $"unregistering the socket of device slot {slot} queue {queue}");
    }

    private static uint XsksKey(int slot, int queue)
    {
        if ((uint)slot >= NativeConstants.MaxDevices)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"device slot must be 0..{NativeConstants.MaxDevices - 1}");
        if ((uint)queue >= NativeConstants.MaxQueues)
            throw new ArgumentOutOfRangeException(nameof(queue), queue, $"queue must be 0..{NativeConstants.MaxQueues - 1}");
        return (uint)(slot * NativeConstants.MaxQueues + queue);
    }

    /// <summary>Reads fp_steer_counters, summed over all possible CPUs.</summary>
    public SteerCounters ReadCounters()
    {
        ThrowIfDisposed();
        var sums = new ulong[SteerCounters.Count];
        Span<ulong> perCpu = stackalloc ulong[BpfMap.PossibleCpuCount];
        for (uint i = 0; i < SteerCounters.Count; i++)
        {
            int cpus = Counters.LookupPerCpu(i, perCpu);
            ulong sum = 0;
            for (int c = 0; c < cpus; c++)
                sum += perCpu[c];
            sums[i] = sum;
        }
        return new SteerCounters(sums);
    }

    /// <summary>
    /// Runs fp_steer once on a frame with BPF_PROG_TEST_RUN, as if it arrived on (ingressIfindex,
    /// rx queue 0) of the calling thread's netns (the device must exist there; 1 = loopback).
    /// Uses the real maps and counters. For parser tests and benchmarks, not for traffic.
    /// </summary>
    public XdpAction TestRun(ReadOnlySpan<byte> frame, int ingressIfindex = 1) =>
        TestRun(frame, ingressIfindex, 1, out _);

    /// <summary>Runs the frame <paramref name="repeat"/> times; meanNanoseconds is the kernel's time per run.</summary>
    public XdpAction TestRun(ReadOnlySpan<byte> frame, int ingressIfindex, int repeat, out uint meanNanoseconds)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        fixed (byte* p = frame)
        {
            int status = SteerImports.TestRun(_fds.Prog, p, (uint)frame.Length, ingressIfindex, (uint)repeat,
                out uint action, out meanNanoseconds);
            if (status < 0)
                NativeException.Throw(-status, $"BPF_PROG_TEST_RUN of fp_steer on a {frame.Length}-byte frame");
            return (XdpAction)action;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);

    /// <summary>
    /// Detaches what this instance attached (errors ignored: a deleted device detaches itself),
    /// then closes the object and unpins the maps.
    /// </summary>
    public void Dispose()
    {
        if (_handle == IntPtr.Zero)
            return;
        KeyValuePair<int, (XdpMode Mode, int LinkFd)>[] attached;
        lock (_gate)
        {
            attached = _attached.ToArray();
            _attached.Clear();
        }
        foreach (var (_, attachment) in attached)
            SteerImports.Detach(attachment.LinkFd);
        SteerImports.Close(_handle);
        _handle = IntPtr.Zero;
    }
}
