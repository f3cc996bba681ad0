namespace SafeSql.AspNetCore;

/// <summary>
/// The recent past of one pool in a fixed ring of time buckets: the most connections seen leased in each bucket and the
/// failed open attempts by kind. Memory is fixed (<see cref="BucketCount"/> buckets, each with at most one count per
/// failure kind), whatever the traffic.
/// </summary>
internal sealed class PoolHistory
{
    /// <summary>The number of buckets the window is split into.</summary>
    internal const int BucketCount = 30;

    private readonly long _bucketTicks;
    private readonly Bucket[] _buckets = new Bucket[BucketCount];
    private readonly Lock _gate = new();

    internal PoolHistory(TimeSpan window)
    {
        _bucketTicks = Math.Max(1, window.Ticks / BucketCount);
        for (var i = 0; i < BucketCount; i++)
        {
            _buckets[i] = new Bucket();
        }
    }

    internal TimeSpan BucketWidth => TimeSpan.FromTicks(_bucketTicks);

    /// <summary>Keeps <paramref name="leased"/> as the bucket's figure when it is the highest seen in the bucket of <paramref name="now"/>.</summary>
    internal void RecordLeased(DateTimeOffset now, int leased)
    {
        lock (_gate)
        {
            var bucket = BucketAt(now.UtcTicks / _bucketTicks);
            bucket.LeasedMax = Math.Max(bucket.LeasedMax ?? 0, leased);
        }
    }

    /// <summary>Counts one failed open attempt of kind <paramref name="kind"/> (snake case, as the "SafeSql" meter tags it).</summary>
    internal void RecordFailure(DateTimeOffset now, string kind)
    {
        lock (_gate)
        {
            var failures = BucketAt(now.UtcTicks / _bucketTicks).Failures;
            failures[kind] = failures.GetValueOrDefault(kind) + 1;
        }
    }

    /// <summary>Reads the window ending at <paramref name="now"/>, oldest bucket first; buckets nothing was recorded in read as empty.</summary>
    internal PoolHistoryWindow Read(DateTimeOffset now)
    {
        var last = now.UtcTicks / _bucketTicks;
        var leased = new List<LeasedSampleDocument>(BucketCount);
        var failures = new List<FailureBucketDocument>(BucketCount);
        var totals = new SortedDictionary<string, long>(StringComparer.Ordinal);
        lock (_gate)
        {
            for (var index = last - BucketCount + 1; index <= last; index++)
            {
                var start = new DateTimeOffset(index * _bucketTicks, TimeSpan.Zero);
                var bucket = _buckets[(int)(index % BucketCount)];
                var current = bucket.Index == index;
                leased.Add(new LeasedSampleDocument(start, current ? bucket.LeasedMax : null));
                var byKind = new SortedDictionary<string, long>(StringComparer.Ordinal);
                if (current)
                {
                    foreach (var (kind, count) in bucket.Failures)
                    {
                        byKind[kind] = count;
                        totals[kind] = totals.GetValueOrDefault(kind) + count;
                    }
                }

                failures.Add(new FailureBucketDocument(start, byKind));
            }
        }

        return new PoolHistoryWindow(leased, failures, totals);
    }

    private Bucket BucketAt(long index)
    {
        var bucket = _buckets[(int)(index % BucketCount)];
        if (bucket.Index != index)
        {
            bucket.Index = index;
            bucket.LeasedMax = null;
            bucket.Failures.Clear();
        }

        return bucket;
    }

    private sealed class Bucket
    {
        public long Index = -1;
        public int? LeasedMax;
        public readonly Dictionary<string, long> Failures = new(StringComparer.Ordinal);
    }
}

/// <summary>One read of a <see cref="PoolHistory"/>: the leased samples and failure buckets, oldest first, and the failures summed by kind.</summary>
internal sealed record PoolHistoryWindow(
    IReadOnlyList<LeasedSampleDocument> Leased,
    IReadOnlyList<FailureBucketDocument> Failures,
    IReadOnlyDictionary<string, long> FailureTotals);
