namespace FastPath.Maglev;

/// <summary>Which fill kernels a Maglev build may use. Both give the same table slot for slot;
/// tests build with each and compare, so the vector paths stay pinned to the scalar one.</summary>
internal enum MaglevKernels
{
    /// <summary>Vector kernels where the CPU has them (AVX2 block probe; AVX-512, else AVX2 + FMA, tail), else scalar.</summary>
    Best,

    /// <summary>Scalar walk and scalar tail only.</summary>
    Scalar,
}
