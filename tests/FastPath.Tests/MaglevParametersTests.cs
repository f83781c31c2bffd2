using FastPath.Maglev;

namespace FastPath.Tests;

public class MaglevParametersTests
{
    [Fact]
    public void Default_is_M_16381_with_seeds_read_big_endian_from_JLfvgnHc2kaSUFaI()
    {
        // "JLfvgnHc2kaSUFaI" decodes to 24 b7 ef 82 | 71 dc da 46 | 92 50 56 88 (checked with
        // Python's base64); Cilium's ToConfig reads each group big-endian.
        var p = MaglevParameters.Default;

        Assert.Equal(16381, p.TableSize);
        Assert.Equal(0x24b7ef82u, p.PermutationSeed);
        Assert.Equal(0x71dcda46u, p.LookupSeedV4);
        Assert.Equal(0x92505688u, p.LookupSeedV6);
    }

    [Fact]
    public void Create_accepts_every_size_Cilium_allows()
    {
        foreach (int size in new[] { 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071 })
            Assert.Equal(size, MaglevParameters.Create(size, "AAAAAAAAAAAAAAAA").TableSize);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16383)]
    [InlineData(65537)]
    [InlineData(-251)]
    public void A_table_size_outside_the_allowed_primes_is_rejected_naming_the_flag(int size)
    {
        var error = Assert.Throws<ArgumentException>(() => MaglevParameters.Create(size, MaglevParameters.DefaultSeedBase64));

        Assert.Contains("--bpf-lb-maglev-table-size", error.Message);
        Assert.Contains(size.ToString(), error.Message);
        Assert.Contains("251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071", error.Message);
    }

    [Fact]
    public void Constructing_directly_with_a_bad_table_size_is_rejected_too()
    {
        var error = Assert.Throws<ArgumentException>(() => new MaglevParameters(1000, 1, 2, 3));
        Assert.Contains("--bpf-lb-maglev-table-size", error.Message);
        Assert.Throws<ArgumentException>(() => MaglevParameters.Default with { TableSize = 16383 });
        Assert.Equal(65521, (MaglevParameters.Default with { TableSize = 65521 }).TableSize);
    }

    [Theory]
    [InlineData("not base64!!")]
    [InlineData("JLfvgnHc2kaSUFa")]
    [InlineData("JLfv gnHc2kaSUFaI")]
    [InlineData("")]
    public void A_seed_that_is_not_base64_of_12_bytes_is_rejected_naming_the_flag(string seed)
    {
        var error = Assert.Throws<ArgumentException>(() => MaglevParameters.Create(16381, seed));

        Assert.Contains("--bpf-lb-maglev-hash-seed", error.Message);
    }

    [Theory]
    [InlineData("AAAAAAAAAAA=", 8)]
    [InlineData("AAAAAAAAAAAAAAAAAAAA", 15)]
    public void A_seed_of_the_wrong_length_is_rejected_with_its_decoded_length(string seed, int decodedBytes)
    {
        var error = Assert.Throws<ArgumentException>(() => MaglevParameters.Create(16381, seed));

        Assert.Contains("--bpf-lb-maglev-hash-seed", error.Message);
        Assert.Contains($"decodes to {decodedBytes} bytes, expected 12", error.Message);
    }
}
