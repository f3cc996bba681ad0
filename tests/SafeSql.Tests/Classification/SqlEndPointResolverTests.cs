using System.Net;

using Microsoft.Extensions.Time.Testing;

namespace SafeSql.Tests.Classification;

/// <summary>
/// The endpoint the OS evidence is pointed at: parsed once per data source, no DNS for IP literals, and one DNS lookup per
/// cache period (1 s) for a host name, so a burst of failed opens does not block on a lookup each.
/// </summary>
public sealed class SqlEndPointResolverTests
{
    [Fact]
    public void Resolve_HostName_LooksUpOncePerCachePeriod()
    {
        // Arrange
        var time = new FakeTimeProvider();
        var lookups = 0;
        var resolver = new SqlEndPointResolver("tcp:db.example.com,1500", time, TimeSpan.FromSeconds(1), host =>
        {
            lookups++;
            Assert.Equal("db.example.com", host);
            return [IPAddress.Parse("fd00::7"), IPAddress.Parse("10.0.0.7")];
        });

        // Act
        var first = resolver.Resolve();
        var second = resolver.Resolve();
        time.Advance(TimeSpan.FromMilliseconds(999));
        var third = resolver.Resolve();
        var lookupsWithinThePeriod = lookups;
        time.Advance(TimeSpan.FromMilliseconds(1));
        var afterThePeriod = resolver.Resolve();

        // Assert: the IPv4 address is preferred; one lookup within the period, a new one after it.
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 1500), first);
        Assert.Same(first, second);
        Assert.Same(first, third);
        Assert.Equal(1, lookupsWithinThePeriod);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 1500), afterThePeriod);
        Assert.Equal(2, lookups);
    }

    [Theory]
    [InlineData("tcp:127.0.0.1,14330", "127.0.0.1", 14330)]
    [InlineData("tcp:[::1],1433", "::1", 1433)]
    [InlineData("10.0.0.5", "10.0.0.5", 1433)]
    [InlineData("(local)", "127.0.0.1", 1433)]
    [InlineData("localhost,1500", "127.0.0.1", 1500)]
    public void Resolve_IpLiteralOrLocalhost_NeverLooksUp(string dataSource, string address, int port)
    {
        // Arrange
        var lookups = 0;
        var resolver = new SqlEndPointResolver(dataSource, new FakeTimeProvider(), TimeSpan.FromSeconds(1), _ =>
        {
            lookups++;
            return null;
        });

        // Act
        var endPoint = resolver.Resolve();

        // Assert
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
        Assert.Equal(0, lookups);
    }

    [Fact]
    public void Resolve_LookupFails_CachesAnyAddressForThePeriod()
    {
        // Arrange: an unresolvable name (the lookup returns nothing, as after a DNS error or the 500 ms bound).
        var time = new FakeTimeProvider();
        var lookups = 0;
        var resolver = new SqlEndPointResolver("tcp:unknown.invalid,1433", time, TimeSpan.FromSeconds(1), _ =>
        {
            lookups++;
            return null;
        });

        // Act
        var first = resolver.Resolve();
        var second = resolver.Resolve();

        // Assert: "any address on that port", and the failure is not looked up again within the period.
        Assert.Equal(new IPEndPoint(IPAddress.Any, 1433), first);
        Assert.Same(first, second);
        Assert.Equal(1, lookups);
    }

    [Theory]
    [InlineData(@"np:\\db\pipe\sql\query")]
    [InlineData("lpc:db")]
    [InlineData(null)]
    [InlineData("tcp:db,notaport")]
    public void Resolve_NotTcpOrUnparsable_ReturnsNullWithoutLookingUp(string? dataSource)
    {
        // Arrange
        var lookups = 0;
        var resolver = new SqlEndPointResolver(dataSource, new FakeTimeProvider(), TimeSpan.FromSeconds(1), _ =>
        {
            lookups++;
            return null;
        });

        // Act
        var endPoint = resolver.Resolve();

        // Assert
        Assert.Null(endPoint);
        Assert.Equal(0, lookups);
    }

    [Fact]
    public async Task ResolveAsync_ManyConcurrentCallers_ShareOneLookupInFlightAndBlockNoThread()
    {
        // Arrange: the asynchronous lookup does not answer until released; the synchronous one must never be used.
        var answer = new TaskCompletionSource<IPAddress[]?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var asyncLookups = 0;
        var resolver = new SqlEndPointResolver(
            "tcp:db.example.com,1500",
            new FakeTimeProvider(),
            TimeSpan.FromSeconds(1),
            _ => throw new Xunit.Sdk.XunitException("An asynchronous caller made a synchronous DNS lookup."),
            _ =>
            {
                Interlocked.Increment(ref asyncLookups);
                return answer.Task;
            });

        // Act: 100 callers while the lookup is in flight, then the answer.
        var callers = Enumerable.Range(0, 100).Select(_ => resolver.ResolveAsync().AsTask()).ToArray();
        var pendingBeforeTheAnswer = callers.Count(static c => !c.IsCompleted);
        answer.SetResult([IPAddress.Parse("10.0.0.7")]);
        var endPoints = await Task.WhenAll(callers);

        // Assert: one lookup, every caller waiting on it without completing early, all with its answer.
        Assert.Equal(1, asyncLookups);
        Assert.Equal(1, resolver.AsyncLookUpsStarted);
        Assert.Equal(100, pendingBeforeTheAnswer);
        Assert.All(endPoints, e => Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 1500), e));
    }
}
