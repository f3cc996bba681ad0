using System.Numerics;

namespace SafeSql;

/// <summary>
/// The active leases of one pool, for the snapshot, the watchdog and the pool-exhausted message. Built for the hot path:
/// adding takes one short, thread-striped lock; ending a lease costs nothing here (the record's state says it ended and
/// its slot is reused by a later add). Counting and listing scan the slots: they are rare (snapshots, pool timeouts,
/// metric collection, the watchdog), and they clear the slots of ended leases on the way, so ended records are not kept
/// (an ended record has also dropped its captured stack: <see cref="LeaseRecord.ReleaseReferences"/>).
/// </summary>
internal sealed class LeaseRegistry
{
    private const int MaxStripes = 32;
    private const int InitialSlots = 16;

    /// <summary>How many slots an add probes for a free one before it grows the stripe.</summary>
    private const int MaxProbes = 8;

    private readonly Stripe[] _stripes;
    private readonly int _mask;

    internal LeaseRegistry()
    {
        var count = (int)Math.Min(MaxStripes, BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount)));
        _stripes = new Stripe[count];
        for (var i = 0; i < count; i++)
        {
            _stripes[i] = new Stripe();
        }

        _mask = count - 1;
    }

    /// <summary>Gets the number of active leases (one pass over the slots).</summary>
    internal int Count
    {
        get
        {
            var total = 0;
            foreach (var stripe in _stripes)
            {
                lock (stripe.Gate)
                {
                    var slots = stripe.Slots;
                    for (var i = 0; i < slots.Length; i++)
                    {
                        if (slots[i] is { } record)
                        {
                            if (record.IsActive)
                            {
                                total++;
                            }
                            else
                            {
                                slots[i] = null;
                            }
                        }
                    }
                }
            }

            return total;
        }
    }

    internal void Add(LeaseRecord record)
    {
        var stripe = _stripes[Environment.CurrentManagedThreadId & _mask];
        lock (stripe.Gate)
        {
            var slots = stripe.Slots;
            var mask = slots.Length - 1;
            var index = stripe.Cursor;
            for (var probe = 0; probe < MaxProbes; probe++)
            {
                if (IsFree(slots[index]))
                {
                    Place(stripe, slots, index, record);
                    return;
                }

                index = (index + 1) & mask;
            }

            // The probe met a run of active leases. Long leases (held ones, dropped ones the collector has not found yet) sit
            // together, and a cursor that keeps coming round to them must not take them for a full stripe: look for a free
            // slot over the whole stripe, and grow only when at least half of it is active.
            var active = 0;
            var free = -1;
            for (var i = 0; i < slots.Length; i++)
            {
                var slot = (index + i) & mask;
                if (!IsFree(slots[slot]))
                {
                    active++;
                }
                else if (free < 0)
                {
                    free = slot;
                }
            }

            if (free >= 0 && active * 2 < slots.Length)
            {
                Place(stripe, slots, free, record);
                return;
            }

            // Crowded: a stripe twice as large, the active leases at their indexes (not packed together, which would make
            // the next run), the new lease at the start of the new half.
            var grown = new LeaseRecord?[slots.Length * 2];
            for (var i = 0; i < slots.Length; i++)
            {
                if (!IsFree(slots[i]))
                {
                    grown[i] = slots[i];
                }
            }

            stripe.Slots = grown;
            Place(stripe, grown, slots.Length, record);
        }

        static bool IsFree(LeaseRecord? occupant) => occupant is null || !occupant.IsActive;

        static void Place(Stripe stripe, LeaseRecord?[] slots, int index, LeaseRecord record)
        {
            slots[index] = record;
            stripe.Cursor = (index + 1) & (slots.Length - 1);
        }
    }

    /// <summary>Gets the number of slots of every stripe together: what the registry holds, active or not (for tests and the soak).</summary>
    internal int Capacity
    {
        get
        {
            var total = 0;
            foreach (var stripe in _stripes)
            {
                lock (stripe.Gate)
                {
                    total += stripe.Slots.Length;
                }
            }

            return total;
        }
    }

    /// <summary>Appends every active lease to <paramref name="target"/>, one stripe lock at a time.</summary>
    internal void CopyTo(List<LeaseRecord> target)
    {
        foreach (var stripe in _stripes)
        {
            lock (stripe.Gate)
            {
                var slots = stripe.Slots;
                for (var i = 0; i < slots.Length; i++)
                {
                    if (slots[i] is { } record)
                    {
                        if (record.IsActive)
                        {
                            target.Add(record);
                        }
                        else
                        {
                            slots[i] = null;
                        }
                    }
                }
            }
        }
    }

    private sealed class Stripe
    {
        internal readonly Lock Gate = new();
        internal LeaseRecord?[] Slots = new LeaseRecord?[InitialSlots];
        internal int Cursor;
    }
}
