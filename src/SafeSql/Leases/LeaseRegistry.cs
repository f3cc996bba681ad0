using System.Numerics;

namespace SafeSql.Leases;

/// <summary>
/// The set of active leases of one pool: striped by thread so concurrent opens rarely contend, each stripe a slot array
/// with a free list (adding and removing allocate nothing once the arrays have grown to the peak concurrency).
/// </summary>
internal sealed class LeaseRegistry
{
    private const int MaxStripes = 32;

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

    /// <summary>Gets the number of registered leases (a moment's sum over the stripes, without locking).</summary>
    internal int Count
    {
        get
        {
            var total = 0;
            foreach (var stripe in _stripes)
            {
                total += Volatile.Read(ref stripe.Count);
            }

            return total;
        }
    }

    internal void Add(LeaseRecord record)
    {
        var index = Environment.CurrentManagedThreadId & _mask;
        var stripe = _stripes[index];
        record.Stripe = index;
        lock (stripe)
        {
            int slot;
            if (stripe.FreeCount > 0)
            {
                slot = stripe.Free[--stripe.FreeCount];
            }
            else
            {
                if (stripe.HighWater == stripe.Slots.Length)
                {
                    Array.Resize(ref stripe.Slots, Math.Max(8, stripe.Slots.Length * 2));
                    Array.Resize(ref stripe.Free, stripe.Slots.Length);
                }

                slot = stripe.HighWater++;
            }

            stripe.Slots[slot] = record;
            record.Slot = slot;
            stripe.Count++;
        }
    }

    internal void Remove(LeaseRecord record)
    {
        var stripe = _stripes[record.Stripe];
        lock (stripe)
        {
            var slot = record.Slot;
            if (slot >= 0 && ReferenceEquals(stripe.Slots[slot], record))
            {
                stripe.Slots[slot] = null;
                stripe.Free[stripe.FreeCount++] = slot;
                record.Slot = -1;
                stripe.Count--;
            }
        }
    }

    /// <summary>Appends every registered lease to <paramref name="target"/>, one stripe lock at a time.</summary>
    internal void CopyTo(List<LeaseRecord> target)
    {
        foreach (var stripe in _stripes)
        {
            lock (stripe)
            {
                var slots = stripe.Slots;
                for (var i = 0; i < stripe.HighWater; i++)
                {
                    if (slots[i] is { } record)
                    {
                        target.Add(record);
                    }
                }
            }
        }
    }

    private sealed class Stripe
    {
        internal LeaseRecord?[] Slots = [];
        internal int[] Free = [];
        internal int FreeCount;
        internal int HighWater;
        internal int Count;
    }
}
