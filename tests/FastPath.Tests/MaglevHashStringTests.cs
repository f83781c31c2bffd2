using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Tests;

/// <summary>The backend string Cilium hashes (pkg/maglev setHashString); it must never change.</summary>
public class MaglevHashStringTests
{
    [Theory]
    [InlineData("10.0.0.1", 80, L4Protocol.Tcp, "[10.0.0.1:80/TCP,State:active]")]
    [InlineData("192.168.255.254", 65535, L4Protocol.Udp, "[192.168.255.254:65535/UDP,State:active]")]
    [InlineData("0.0.0.0", 0, L4Protocol.Sctp, "[0.0.0.0:0/SCTP,State:active]")]
    [InlineData("10.1.2.3", 53, L4Protocol.Any, "[10.1.2.3:53/ANY,State:active]")]
    // IPv6: brackets inside the brackets, Go netip / RFC 5952 text.
    [InlineData("2001:DB8::1", 443, L4Protocol.Tcp, "[[2001:db8::1]:443/TCP,State:active]")]
    [InlineData("::1", 8080, L4Protocol.Tcp, "[[::1]:8080/TCP,State:active]")]
    [InlineData("::", 1, L4Protocol.Udp, "[[::]:1/UDP,State:active]")]
    [InlineData("fd00:0:0:1:0:0:0:1", 80, L4Protocol.Tcp, "[[fd00:0:0:1::1]:80/TCP,State:active]")]
    [InlineData("1:0:0:2:0:0:3:4", 80, L4Protocol.Tcp, "[[1::2:0:0:3:4]:80/TCP,State:active]")]
    [InlineData("1:0:2:0:3:0:4:0", 80, L4Protocol.Tcp, "[[1:0:2:0:3:0:4:0]:80/TCP,State:active]")]
    [InlineData("fe80::ab:cdef:0:0", 80, L4Protocol.Tcp, "[[fe80::ab:cdef:0:0]:80/TCP,State:active]")]
    [InlineData("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", 80, L4Protocol.Tcp, "[[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:80/TCP,State:active]")]
    public void Hash_string_matches_Ciliums_format(string address, ushort port, L4Protocol protocol, string expected)
    {
        var backend = new MaglevBackend(1, NetAddress.Parse(address), port, protocol);

        Assert.Equal(expected, backend.HashString());
    }

    [Fact]
    public void IPv6_text_agrees_with_dotnets_RFC_5952_formatting_for_ordinary_addresses()
    {
        var random = new Random(5952);
        var bytes = new byte[16];
        for (int i = 0; i < 500; i++)
        {
            random.NextBytes(bytes);
            // Zero some groups so compression cases occur; keep the first group non-zero so
            // .NET's special IPv4-compatible/mapped forms (::a.b.c.d) never apply.
            for (int g = 1; g < 8; g++)
                if (random.Next(3) == 0) { bytes[g * 2] = 0; bytes[g * 2 + 1] = 0; }
            bytes[0] |= 0x20;
            var address = NetAddress.FromV6(bytes);

            string expected = $"[[{address.ToIPAddress()}]:1/TCP,State:active]";
            Assert.Equal(expected, new MaglevBackend(1, address, 1, L4Protocol.Tcp).HashString());
        }
    }
}
