using System.Runtime.InteropServices;
using System.Text;
using FastPath.Maglev;

namespace FastPath.Tests;

public class JHashTests
{
    // Bob Jenkins' lookup3.c driver5(): hashlittle("Four score and seven years ago", 30, 0) is
    // 0x17770551 and with initval 1 is 0xcd628161. The kernel's jhash() is hashlittle for
    // little-endian machines, so these vectors check jhash's mix, final and tail handling.
    [Theory]
    [InlineData(0u, 0x17770551u)]
    [InlineData(1u, 0xcd628161u)]
    public void Hash_matches_the_lookup3_driver5_vectors(uint initval, uint expected)
    {
        byte[] key = Encoding.ASCII.GetBytes("Four score and seven years ago");

        Assert.Equal(expected, JHash.Hash(key, initval));
    }

    [Fact]
    public void Hash_of_empty_key_is_the_start_value()
    {
        // lookup3.c driver5: hashlittle("", 0, 0) == 0xdeadbeef (nothing is mixed in).
        Assert.Equal(0xdeadbeefu, JHash.Hash(ReadOnlySpan<byte>.Empty, 0));
    }

    // The kernel's jhash2 over n words equals jhash over the same 4n bytes on little-endian
    // (both start from JHASH_INITVAL + byte length + initval and take 12-byte blocks), so the
    // lookup3 vectors above transfer to jhash2 and jhash_3words.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(7)]
    public void Hash2_over_words_equals_Hash_over_their_little_endian_bytes(int wordCount)
    {
        var words = new uint[wordCount];
        var random = new Random(wordCount);
        for (int i = 0; i < wordCount; i++)
            words[i] = (uint)random.NextInt64(0, 1L << 32);
        byte[] bytes = MemoryMarshal.AsBytes(words.AsSpan()).ToArray();

        Assert.Equal(JHash.Hash(bytes, 0x1234_5678), JHash.Hash2(words, 0x1234_5678));
    }

    [Fact]
    public void Hash3Words_equals_Hash2_over_the_three_words()
    {
        // The kernel defines jhash_3words as __jhash_nwords(a, b, c, initval + JHASH_INITVAL + 12),
        // the same arithmetic as jhash2 of three words.
        uint[] words = [0x0100_000a, 0x5000_3930, 6];
        Assert.Equal(JHash.Hash2(words, 0xdead_0001), JHash.Hash3Words(words[0], words[1], words[2], 0xdead_0001));
        Assert.Equal(JHash.Hash(MemoryMarshal.AsBytes(words.AsSpan()), 7), JHash.Hash3Words(words[0], words[1], words[2], 7));
    }

    [Fact]
    public void Hash3Words_changes_when_any_input_changes()
    {
        uint baseline = JHash.Hash3Words(1, 2, 3, 4);

        Assert.NotEqual(baseline, JHash.Hash3Words(0, 2, 3, 4));
        Assert.NotEqual(baseline, JHash.Hash3Words(1, 3, 3, 4));
        Assert.NotEqual(baseline, JHash.Hash3Words(1, 2, 4, 4));
        Assert.NotEqual(baseline, JHash.Hash3Words(1, 2, 3, 5));
    }
}
