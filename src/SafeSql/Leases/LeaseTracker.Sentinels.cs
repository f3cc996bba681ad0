using System.Numerics;

namespace SafeSql;

/// <summary>
/// The tracker's pool of idle <see cref="LeaseSentinel"/>s: a sentinel ends its lease on close and comes back here, so a
/// pooled open neither allocates a finalizable object nor registers one with the finalization queue.
/// </summary>
/// <remarks>
/// One cache line of slots per stripe, the stripe chosen by thread (a synchronous open and its close take and return on the
/// same stripe); taking and returning are one compare-and-swap each on a line that other stripes' threads do not write. When
/// the stripe is empty a new sentinel is allocated; when it is full the returned one is dropped, and its finalizer, finding
/// no lease, does nothing. Idle sentinels are at most <see cref="SlotsPerStripe"/> per stripe: a few kilobytes per tracker.
/// </remarks>
internal sealed partial class LeaseTracker
{
    /// <summary>Slots per stripe: 8 references, one 64-byte cache line.</summary>
    private const int SlotsPerStripe = 8;

    private static readonly int s_sentinelStripeMask =
        (int)Math.Min(32, BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount))) - 1;

    private readonly LeaseSentinel?[] _idleSentinels = new LeaseSentinel?[(s_sentinelStripeMask + 1) * SlotsPerStripe];

    /// <summary>Takes an idle sentinel of this tracker, or allocates one.</summary>
    internal LeaseSentinel RentSentinel()
    {
        var slots = _idleSentinels;
        var first = (Environment.CurrentManagedThreadId & s_sentinelStripeMask) * SlotsPerStripe;
        for (var i = first; i < first + SlotsPerStripe; i++)
        {
            if (slots[i] is { } sentinel && ReferenceEquals(Interlocked.CompareExchange(ref slots[i], null, sentinel), sentinel))
            {
                return sentinel;
            }
        }

        return new LeaseSentinel(this);
    }

    /// <summary>Gives back a sentinel whose lease has ended; dropped if its stripe is full.</summary>
    internal void ReturnSentinel(LeaseSentinel sentinel)
    {
        var slots = _idleSentinels;
        var first = (Environment.CurrentManagedThreadId & s_sentinelStripeMask) * SlotsPerStripe;
        for (var i = first; i < first + SlotsPerStripe; i++)
        {
            if (slots[i] is null && Interlocked.CompareExchange(ref slots[i], sentinel, null) is null)
            {
                return;
            }
        }
    }
}
