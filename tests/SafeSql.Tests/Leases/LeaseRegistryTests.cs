using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;

namespace SafeSql.Tests.Leases;

public sealed class LeaseRegistryTests
{
    [Fact]
    public async Task Add_ManyThreadsWithEndedLeasesInBetween_ListsEveryActiveLeaseOnce()
    {
        // Arrange
        using var metrics = new SafeSqlMetrics(null);
        using var tracker = new LeaseTracker("registry", new SqlConnectionStringBuilder(), new SqlConnectionLeakOptions(), new FakeTimeProvider(), NullLogger.Instance, metrics);
        var registry = new LeaseRegistry();
        var kept = new System.Collections.Concurrent.ConcurrentBag<LeaseRecord>();

        // Act: 4 threads x 500 adds; two of every three leases end at once, so slots are reused and stripes grow.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var record = new LeaseRecord(tracker, "Member", "File.cs", i, null, i);
                registry.Add(record);
                if (i % 3 == 0)
                {
                    kept.Add(record);
                }
                else
                {
                    Assert.True(record.TryEnd(out _));
                }
            }
        })));
        var listed = new List<LeaseRecord>();
        registry.CopyTo(listed);

        // Assert
        Assert.Equal(kept.Count, registry.Count);
        Assert.Equal(kept.Count, listed.Count);
        Assert.Equal(listed.Count, listed.Distinct().Count());
        Assert.True(kept.ToHashSet().SetEquals(listed));
    }

    [Fact]
    public void Add_LongLeasesAmongManyShortOnes_StripeStaysNearTheActiveCount()
    {
        // Arrange: 40 long leases, added together (so they sit side by side), like held or dropped connections.
        using var metrics = new SafeSqlMetrics(null);
        using var tracker = new LeaseTracker("registry", new SqlConnectionStringBuilder(), new SqlConnectionLeakOptions(), new FakeTimeProvider(), NullLogger.Instance, metrics);
        var registry = new LeaseRegistry();
        var initial = registry.Capacity;
        var longLeases = new List<LeaseRecord>();
        for (var i = 0; i < 40; i++)
        {
            var record = new LeaseRecord(tracker, "Long", "File.cs", i, null, i);
            registry.Add(record);
            longLeases.Add(record);
        }

        // Act: 100,000 short leases on the same thread, each ended before the next, so the cursor comes round to the long
        // ones again and again.
        for (var i = 0; i < 100_000; i++)
        {
            var record = new LeaseRecord(tracker, "Short", "File.cs", i, null, i);
            registry.Add(record);
            Assert.True(record.TryEnd(out _));
        }

        // Assert: one stripe grew to hold 40 (64 or 128 slots), not once per lap (it reached 65,536 slots per stripe in the
        // soak, holding ended records in its slots until overwritten).
        Assert.Equal(40, registry.Count);
        Assert.InRange(registry.Capacity - initial, 0, 128);
    }

    [Fact]
    public void Count_EndedLeaseInASlot_NoLongerKeepsTheRecordAlive()
    {
        // Arrange
        using var metrics = new SafeSqlMetrics(null);
        using var tracker = new LeaseTracker("registry", new SqlConnectionStringBuilder(), new SqlConnectionLeakOptions(), new FakeTimeProvider(), NullLogger.Instance, metrics);
        var registry = new LeaseRegistry();
        var ended = AddAndEnd(registry, tracker);

        // Act
        var count = registry.Count;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // Assert
        Assert.Equal(0, count);
        Assert.False(ended.IsAlive, "The registry still references an ended lease record (and its captured stack).");
    }

    /// <summary>Adds a lease with a captured stack and ends it; only the registry references the record afterwards.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddAndEnd(LeaseRegistry registry, LeaseTracker tracker)
    {
        var record = new LeaseRecord(tracker, "Member", "File.cs", 1, new System.Diagnostics.StackTrace(), 0);
        registry.Add(record);
        Assert.True(record.TryEnd(out _));
        return new WeakReference(record);
    }
}
