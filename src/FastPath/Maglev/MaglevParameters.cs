namespace FastPath.Maglev;

/// <summary>
/// Table size and seeds (SPEC §8). PLACEHOLDER shape pinned for the pipeline; the Maglev
/// work completes it (parsing the base64 seed, validating the prime table size).
/// </summary>
public sealed record MaglevParameters(int TableSize, uint PermutationSeed, uint LookupSeedV4, uint LookupSeedV6);
