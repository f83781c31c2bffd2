using FastPath.Conntrack;
using FastPath.Native;
using FastPath.NextHop;
using FastPath.Snapshot;
using FastPath.Xsk;

namespace FastPath.Runtime;

/// <summary>
/// The running datapath of one agent: the steering program attached to every device, one UMEM
/// shared by all AF_XDP sockets (so a frame received on one device is transmitted on another
/// without a copy), one <see cref="QueueWorker"/> per RX queue index, the shared conntrack
/// table and its sweeper, the neighbour resolver and the snapshot publisher.
/// Build it in the network namespace of the devices; dispose it there too (detach is per netns).
/// </summary>
public sealed class Datapath : IDisposable
{
    private readonly List<XskSocket> _sockets = new();
    private readonly List<QueueWorker> _workers = new();
    private SteeringProgram? _program;
    private Umem? _umem;
    private NeighbourResolver? _resolver;
    private CtSweeper? _sweeper;

    private Datapath(IReadOnlyList<NetworkDevice> devices, CtTable ct)
    {
        Devices = devices;
        Conntrack = ct;
    }

    public IReadOnlyList<NetworkDevice> Devices { get; }
    public IReadOnlyDictionary<string, XdpMode> AttachModes => _attachModes;
    private readonly Dictionary<string, XdpMode> _attachModes = new();
    public CtTable Conntrack { get; }
    public SnapshotPublisher Snapshots { get; private set; } = null!;
    public IReadOnlyList<QueueWorker> Workers => _workers;
    public IReadOnlyList<XskSocket> Sockets => _sockets;
    public SteeringProgram Program => _program!;
    public NeighbourResolver Resolver => _resolver!;

    /// <param name="warn">Receives operator-facing warnings (e.g. a fallback to generic XDP).</param>
    public static Datapath Start(IReadOnlyList<NetworkDevice> devices, DatapathOptions options, Action<string> warn)
    {
        // One worker per RX queue index: with one queue per device, one thread does every insert.
        bool oneWorker = devices.Count > 0 && devices.Max(d => d.RxQueues) == 1;
        var datapath = new Datapath(devices, new CtTable(options.CtCapacity, singleInserter: oneWorker));
        try
        {
            datapath.Build(options, warn);
            return datapath;
        }
        catch
        {
            datapath.Dispose();
            throw;
        }
    }

    private void Build(DatapathOptions options, Action<string> warn)
    {
        _program = SteeringProgram.Load(options.BpfObjectPath, options.PinDirectory);
        var slotOfIfindex = Devices.ToDictionary(d => d.IfIndex, d => d.Slot);
        _resolver = new NeighbourResolver(ifindex => slotOfIfindex.TryGetValue(ifindex, out int slot) ? slot : null);
        Snapshots = new SnapshotPublisher(ForwardingSnapshot.Empty(options.Maglev), _program.Services, _resolver);

        int queues = Devices.Max(d => d.RxQueues);
        int socketCount = Devices.Sum(d => d.RxQueues);
        _umem = Umem.Create(socketCount * options.FramesPerSocket);

        // Sockets first, XDP last: a packet steered before its socket exists would be lost.
        int nextFrame = 0;
        for (int queue = 0; queue < queues; queue++)
        {
            var sockets = new XskSocket?[Devices.Count];
            foreach (var device in Devices.Where(d => d.RxQueues > queue))
            {
                var socket = XskSocket.Create(_umem, device.IfIndex, queue, options.BindMode, options.RingSize);
                _sockets.Add(socket);
                sockets[device.Slot] = socket;
                _program.RegisterSocket(device.Slot, queue, socket);
            }
            int frames = sockets.Count(s => s is not null) * options.FramesPerSocket;
            _workers.Add(new QueueWorker(queue, sockets, _umem, nextFrame, frames, Conntrack, Snapshots, _resolver, _program.Flows));
            nextFrame += frames;
        }

        foreach (var device in Devices)
        {
            _program.RegisterDevice(device.IfIndex, device.Slot);
            var used = _program.Attach(device.IfIndex, options.XdpMode);
            _attachModes[device.Name] = used;
            if (options.XdpMode == XdpMode.Auto && used == XdpMode.Generic)
                warn($"{device.Name}: native XDP is not available, attached in generic mode (slower; every packet pays an skb allocation)");
        }

        _sweeper = new CtSweeper(Conntrack, _program.Flows);
        _sweeper.Start();
        foreach (var worker in _workers)
            worker.Start();
    }

    public void Dispose()
    {
        foreach (var worker in _workers)
            worker.Stop();
        _sweeper?.Dispose();
        // Detach XDP before closing sockets so no packet is steered into a closed socket.
        _program?.Dispose();
        foreach (var socket in _sockets)
            socket.Dispose();
        _sockets.Clear();
        _umem?.Dispose();
        _resolver?.Dispose();
    }
}
