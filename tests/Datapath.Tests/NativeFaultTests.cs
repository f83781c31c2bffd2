using Datapath.Tests.Infrastructure;
using FastPath.Native;
using FastPath.Xsk;

namespace Datapath.Tests;

/// <summary>
/// Set-up failures provoked on purpose: each must surface as a NativeException naming the
/// operation and carrying the kernel's errno, and leave nothing behind.
/// <code>
///  netns A (fpfa-xxxxxx): veth A ══ veth B :netns B (fpfb-xxxxxx)
/// </code>
/// </summary>
public class NativeFaultTests
{
    private const int EEXIST = 17, EBUSY = 16, ESTALE = 116;

    [Fact]
    public void Attaching_over_an_existing_program_fails_instead_of_replacing_it()
    {
        using var a = NetNs.Create("fpfa");
        using var b = NetNs.Create("fpfb");
        string s = a.Name[^6..];
        using var veth = VethPair.Create(a, $"fa{s}", b, $"fb{s}");
        int ifindex = a.Ifindex(veth.NameA);
        using var first = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, $"/sys/fs/bpf/fastpath-test-{s}-1");
        using var second = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, $"/sys/fs/bpf/fastpath-test-{s}-2");
        try
        {
            a.RunInside(() => first.Attach(ifindex, XdpMode.Native));
            var error = Assert.IsType<NativeException>(
                Assert.Throws<AggregateException>(() => a.RunInside(() => second.Attach(ifindex, XdpMode.Native))).InnerException);
            Assert.Contains(error.Errno, new[] { EEXIST, EBUSY });
            Assert.Contains($"ifindex {ifindex}", error.Message);
            Assert.Contains("xdp", a.Exec("ip", "link", "show", veth.NameA));
        }
        finally
        {
            a.RunInside(first.Dispose);
            a.RunInside(second.Dispose);
        }
        Assert.DoesNotContain("prog/xdp", a.Exec("ip", "link", "show", veth.NameA));
    }

    [Fact]
    public void A_pin_directory_in_use_by_a_loaded_program_is_refused_and_free_again_after_dispose()
    {
        string pinDir = $"/sys/fs/bpf/fastpath-test-{Guid.NewGuid():N}"[..40];
        var first = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pinDir);
        try
        {
            var error = Assert.Throws<NativeException>(() => SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pinDir));
            Assert.Equal(EBUSY, error.Errno);
            Assert.Contains(pinDir, error.Message);
            Assert.True(File.Exists(Path.Combine(pinDir, "fp_flows")), "the first program's pins must survive the refused load");
        }
        finally
        {
            first.Dispose();
        }
        using var second = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pinDir);
        Assert.True(File.Exists(Path.Combine(pinDir, "fp_flows")));
    }

    [Fact]
    public void Pins_left_by_a_killed_agent_are_replaced_on_load()
    {
        // A killed agent leaves its pins behind; bpftool stands in for it (same names, other maps).
        string pinDir = $"/sys/fs/bpf/fastpath-test-{Guid.NewGuid():N}"[..40];
        Directory.CreateDirectory(pinDir);
        try
        {
            Shell.Run("bpftool", "map", "create", Path.Combine(pinDir, "fp_flows"), "type", "hash", "key", "4", "value", "4",
                "entries", "1", "name", "stale");
            Assert.Contains("stale", Shell.Run("bpftool", "map", "show", "pinned", Path.Combine(pinDir, "fp_flows")));

            using var program = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pinDir);
            string pinned = Shell.Run("bpftool", "map", "show", "pinned", Path.Combine(pinDir, "fp_flows"));
            Assert.DoesNotContain("stale", pinned);
            Assert.Contains("fp_flows", pinned);
        }
        finally
        {
            foreach (string file in Directory.Exists(pinDir) ? Directory.GetFiles(pinDir) : [])
                File.Delete(file);
            if (Directory.Exists(pinDir))
                Directory.Delete(pinDir);
        }
    }

    [Fact]
    public void Zero_copy_on_veth_is_refused_and_a_umem_whose_registering_socket_closed_cannot_be_joined()
    {
        using var a = NetNs.Create("fpfz");
        using var b = NetNs.Create("fpfy");
        string s = a.Name[^6..];
        using var veth = VethPair.Create(a, $"za{s}", b, $"zb{s}");
        int ifindex = a.Ifindex(veth.NameA);
        using var umem = Umem.Create(64);

        var zeroCopy = Assert.Throws<AggregateException>(() =>
            a.RunInside(() => XskSocket.Create(umem, ifindex, 0, XskBindMode.ZeroCopy, 32)));
        Assert.IsType<NativeException>(zeroCopy.InnerException);

        var owner = a.RunInside(() => XskSocket.Create(umem, ifindex, 0, XskBindMode.Copy, 32));
        using var other = a.RunInside(() => XskSocket.Create(umem, a.Ifindex("lo"), 0, XskBindMode.Copy, 32));
        owner.Dispose();
        var stale = Assert.Throws<AggregateException>(() =>
            a.RunInside(() => XskSocket.Create(umem, ifindex, 0, XskBindMode.Copy, 32)));
        Assert.Equal(ESTALE, Assert.IsType<NativeException>(stale.InnerException).Errno);
    }
}
