using System.Runtime.CompilerServices;

namespace FastPath.Maglev;

/// <summary>Whose turn slot n is. The fill loops are generic over this so that the common case,
/// plain round robin, compiles to a counter with no call in the loop (a call there makes the JIT
/// spill the probe's vector constants on every iteration).</summary>
internal interface IMaglevTurns
{
    /// <summary>The backend (sorted rank) that places slot <paramref name="n"/>;
    /// <paramref name="turn"/> is n % N, kept in the caller's register and advanced here.</summary>
    int Next(ref int turn, int n);

    /// <summary>N, the number of backends taking turns.</summary>
    int Count { get; }
}

/// <summary>n % N.</summary>
internal readonly struct RoundRobinTurns(int count) : IMaglevTurns
{
    public int Count => count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(ref int turn, int n)
    {
        int i = turn;
        if (++turn == count)
            turn = 0;
        return i;
    }
}

/// <summary>Cilium's weighted turns: skip backends whose weight has had its share of turns so far.</summary>
internal readonly struct WeightedTurns : IMaglevTurns
{
    private readonly ushort[] _weights;
    private readonly double[] _counters;
    private readonly int _count;
    private readonly double _weightSum;

    public int Count => _count;

    private WeightedTurns(ushort[] weights, double[] counters, int count, ulong weightSum)
    {
        _weights = weights;
        _counters = counters;
        _count = count;
        _weightSum = weightSum;
    }

    /// <summary>The weighted turns for these weights, or false when they are plain round robin:
    /// Cilium applies weights only when sum/N &gt; 1 (integer division). Equal weights w never
    /// skip a turn either: backend i's counter before its turn at slot n = q·N + i is
    /// q·N·w + w/N (integers below 2^53 add exactly; w/N's rounding error is far below 1), so
    /// ⌊counter⌋ ≤ q·N·w + w ≤ (n + 1)·w — round robin gives the same turns.</summary>
    public static bool TryCreate(ushort[] weights, double[] counters, int count, out WeightedTurns turns)
    {
        ulong weightSum = 0;
        bool allEqual = true;
        for (int i = 0; i < count; i++)
        {
            weightSum += weights[i];
            counters[i] = (double)weights[i] / count; // as Cilium: the counter starts at weight/N
            allEqual &= weights[i] == weights[0];
        }
        turns = new WeightedTurns(weights, counters, count, weightSum);
        return weightSum / (ulong)count > 1 && !allEqual;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(ref int turn, int n)
    {
        int i = turn;
        if (++turn == _count)
            turn = 0;
        return Weighted(i, n);
    }

    private int Weighted(int i, int n)
    {
        while ((ulong)(n + 1) * _weights[i] < (ulong)_counters[i])
        {
            if (++i == _count)
                i = 0;
        }
        _counters[i] += _weightSum;
        return i;
    }
}
