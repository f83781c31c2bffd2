using System.Text;
using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Tests;

/// <summary>
/// Tables Cilium's own tests pin down (cilium/cilium pkg/maglev/maglev_test.go), reproduced
/// slot for slot. Their backends come from mkAddr(i): IPv4 address i (big-endian, so 0.0.0.i),
/// port i, TCP — hash string "[0.0.0.i:i/TCP,State:active]" — with the default seed.
/// Cilium numbers backends from 0; our id 0 means "none", so we add 1 and subtract it back.
/// </summary>
public class MaglevCiliumCompatibilityTests
{
    private static MaglevBackend CiliumTestBackend(int i, uint ciliumId, ushort weight) =>
        new(ciliumId + 1, NetAddress.FromV4Raw(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)i)),
            (ushort)(i % 65535), L4Protocol.Tcp, weight);

    [Fact]
    public void Cilium_test_backend_hash_string_has_Ciliums_format()
    {
        Assert.Equal("[0.0.0.3:3/TCP,State:active]", CiliumTestBackend(3, 0, 1).HashString());
    }

    // TestReproducible: M = 251, default seed, four weighted backends; Cilium's expected table
    // as run-length encoded "<id>(<count>)" over the 251 slots.
    [Fact]
    public void Weighted_table_at_M_251_equals_Ciliums_reproducible_table()
    {
        const string expected =
            "2(5),3(1),2(3),1(1),2(2),0(1),2(1),3(1),2(1),3(1),2(1),1(1),2(7),1(1),2(14),3(1),2(1)," +
            "1(2),2(12),3(1),2(3),1(1),2(4),3(1),2(8),3(1),2(2),1(1),2(16),1(2),2(3),3(1),2(11),1(2),2(4),3(1),2(3)," +
            "1(1),2(4),3(1),2(1),0(1),1(1),2(8),1(1),2(7),1(1),2(4),3(1),2(1),3(1),2(9),1(2),2(5),1(1),2(7),3(1),2(1)," +
            "3(1),1(1),2(8),1(1),2(4),0(1),2(1),1(1),2(5),3(1),2(3),1(1),2(4),3(1),2(3),1(1),2(12),0(1),3(1),2(3),3(1)," +
            "2(4),3(1),2(2),1(1),2(7)";
        MaglevBackend[] backends =
        [
            CiliumTestBackend(1, ciliumId: 0, weight: 2),
            CiliumTestBackend(3, ciliumId: 1, weight: 13),
            CiliumTestBackend(4, ciliumId: 2, weight: 111),
            CiliumTestBackend(5, ciliumId: 3, weight: 10),
        ];

        uint[] table = MaglevTableBuilder.Build(backends, MaglevParameters.Create(251, MaglevParameters.DefaultSeedBase64));

        Assert.Equal(expected, RunLengthEncodeCiliumIds(table));
    }

    // TestWeightedBackendWithRemoval: M = 1021, weights 2/13/111/10 give exactly 16/98/832/75
    // slots; dropping the weight-2 backend moves < 1% of the others' slots.
    [Fact]
    public void Weighted_counts_and_removal_at_M_1021_equal_Ciliums_expectations()
    {
        var parameters = MaglevParameters.Create(1021, MaglevParameters.DefaultSeedBase64);
        MaglevBackend[] backends =
        [
            CiliumTestBackend(1, ciliumId: 1, weight: 2),
            CiliumTestBackend(2, ciliumId: 2, weight: 13),
            CiliumTestBackend(3, ciliumId: 3, weight: 111),
            CiliumTestBackend(4, ciliumId: 4, weight: 10),
        ];

        uint[] before = MaglevTableBuilder.Build(backends, parameters);
        uint[] after = MaglevTableBuilder.Build(backends.AsSpan(1), parameters);

        Assert.Equal(16, before.Count(id => id == 2));
        Assert.Equal(98, before.Count(id => id == 3));
        Assert.Equal(832, before.Count(id => id == 4));
        Assert.Equal(75, before.Count(id => id == 5));
        int moved = 0;
        for (int slot = 0; slot < before.Length; slot++)
        {
            Assert.NotEqual(2u, after[slot]);
            if (before[slot] != 2 && after[slot] != before[slot])
                moved++;
        }
        Assert.True(moved * 100.0 / parameters.TableSize < 1.0, $"{moved} slots of remaining backends moved");
    }

    // TestBackendRemoval: three unweighted backends at M = 1021; removing the last moves fewer
    // than 1% of the slots of the two that stay, and its slots go to those two.
    [Fact]
    public void Unweighted_removal_at_M_1021_moves_under_1_percent_as_in_Ciliums_test()
    {
        var parameters = MaglevParameters.Create(1021, MaglevParameters.DefaultSeedBase64);
        MaglevBackend[] backends =
        [
            CiliumTestBackend(1, ciliumId: 1, weight: 1),
            CiliumTestBackend(2, ciliumId: 2, weight: 1),
            CiliumTestBackend(3, ciliumId: 3, weight: 1),
        ];

        uint[] before = MaglevTableBuilder.Build(backends, parameters);
        uint[] after = MaglevTableBuilder.Build(backends.AsSpan(0, 2), parameters);

        int moved = 0;
        for (int slot = 0; slot < before.Length; slot++)
        {
            Assert.True(after[slot] is 2 or 3);
            if (before[slot] != 4 && after[slot] != before[slot])
                moved++;
        }
        Assert.True(moved * 100.0 / parameters.TableSize < 1.0, $"{moved} slots of remaining backends moved");
    }

    private static string RunLengthEncodeCiliumIds(uint[] table)
    {
        var runs = new StringBuilder();
        int start = 0;
        for (int i = 1; i <= table.Length; i++)
        {
            if (i < table.Length && table[i] == table[start])
                continue;
            if (runs.Length > 0)
                runs.Append(',');
            runs.Append(table[start] - 1).Append('(').Append(i - start).Append(')');
            start = i;
        }
        return runs.ToString();
    }
}
