using System.Collections.Immutable;

namespace FastPath.Maglev;

/// <summary>
/// Table size and seeds (SPEC §8), the control plane's validated view of
/// <c>--bpf-lb-maglev-table-size</c> and <c>--bpf-lb-maglev-hash-seed</c>. Validated once at
/// start-up: constructing one with a table size outside <see cref="AllowedTableSizes"/> throws.
/// Seeds are derived from the 12 seed bytes exactly as Cilium's pkg/maglev ToConfig does
/// (each 4-byte group read big-endian), so a cluster configured with the same base64 seed
/// builds the same tables and picks the same slots as Cilium.
/// </summary>
public sealed record MaglevParameters(int TableSize, uint PermutationSeed, uint LookupSeedV4, uint LookupSeedV6)
{
    public const string TableSizeFlag = "--bpf-lb-maglev-table-size";
    public const string HashSeedFlag = "--bpf-lb-maglev-hash-seed";

    /// <summary>Cilium's default M: prime, > 100 × 100 backends (≤ 1% imbalance per the paper).</summary>
    public const int DefaultTableSize = 16381;

    /// <summary>Cilium's default cluster-wide seed (base64 of 12 bytes). Changing it reshuffles
    /// every table and every flow's slot; all nodes of a mesh must agree on it.</summary>
    public const string DefaultSeedBase64 = "JLfvgnHc2kaSUFaI";

    /// <summary>Decoded seed length in bytes: murmur (0–3), IPv4 jhash (4–7), IPv6 jhash (8–11).</summary>
    public const int SeedBytes = 12;

    /// <summary>The primes Cilium accepts for M (same list, same order as its flag help).</summary>
    public static ImmutableArray<int> AllowedTableSizes { get; } =
        [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];

    public static MaglevParameters Default { get; } = Create(DefaultTableSize, DefaultSeedBase64);

    private readonly int _tableSize = ValidateTableSize(TableSize);

    /// <summary>M, validated against <see cref="AllowedTableSizes"/> (also on <c>with</c>).</summary>
    public int TableSize { get => _tableSize; init => _tableSize = ValidateTableSize(value); }

    /// <summary>Parses and validates the two flags' values.</summary>
    /// <exception cref="ArgumentException">Table size not allowed, seed not base64 or not 12 bytes.</exception>
    public static MaglevParameters Create(int tableSize, string seedBase64)
    {
        ValidateTableSize(tableSize);
        byte[]? seed = null;
        // Go's base64.StdEncoding (what Cilium uses) rejects embedded blanks; .NET would skip them.
        if (seedBase64 is not null && !seedBase64.AsSpan().ContainsAny(" \t\r\n"))
        {
            try { seed = Convert.FromBase64String(seedBase64); }
            catch (FormatException) { seed = null; }
        }
        if (seed is null)
        {
            throw new ArgumentException(
                $"Invalid value for {HashSeedFlag}: '{seedBase64}' is not valid base64 (expected 12 bytes " +
                $"in standard base64, e.g. the default '{DefaultSeedBase64}'; generate one with " +
                "'head -c12 /dev/urandom | base64 -w0').", nameof(seedBase64));
        }
        int written = seed.Length;
        if (written != SeedBytes)
        {
            throw new ArgumentException(
                $"Invalid value for {HashSeedFlag}: '{seedBase64}' decodes to {written} bytes, expected {SeedBytes}.",
                nameof(seedBase64));
        }
        return new MaglevParameters(
            tableSize,
            PermutationSeed: ReadBigEndian(seed, 0),
            LookupSeedV4: ReadBigEndian(seed, 4),
            LookupSeedV6: ReadBigEndian(seed, 8));
    }

    public static bool IsAllowedTableSize(int tableSize) => AllowedTableSizes.Contains(tableSize);

    private static int ValidateTableSize(int tableSize)
    {
        if (!IsAllowedTableSize(tableSize))
        {
            throw new ArgumentException(
                $"Invalid value for {TableSizeFlag}: {tableSize}, supported values are: " +
                $"{string.Join(", ", AllowedTableSizes)} (prime table sizes, as Cilium accepts).",
                nameof(tableSize));
        }
        return tableSize;
    }

    private static uint ReadBigEndian(ReadOnlySpan<byte> bytes, int start) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(start, 4));
}
