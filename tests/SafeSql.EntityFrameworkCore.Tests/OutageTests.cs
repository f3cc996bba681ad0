using Microsoft.EntityFrameworkCore;

using SafeSql.Diagnostics;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>
/// EF Core through <c>UseSafeSql</c> in an outage: the context's opens go through the data source's circuit breaker, so
/// queries fail at once while the server is known to be down and are served again once its probe sees it answer. The real
/// SqlClient against the loopback server stopped and started again on the same port.
/// </summary>
public sealed class OutageTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_ServerDown_BreakerOpensQueriesFailAtOnceAndAreServedWhenTheServerAnswers(bool async)
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync(connectTimeout: 2);
        await harness.Database.Server.StopAsync();

        // Act 1: queries while the server is down, until the breaker answers for it (the EF strategy's retries count too).
        Exception? failure = null;
        for (var i = 0; i < 5 && failure is not SqlServerUnavailableException { Kind: SqlFailureKind.CircuitOpen }; i++)
        {
            failure = await CaptureAsync(harness, async);
        }

        // Assert 1: the explained circuit-open failure, the breaker's opening logged once.
        var unavailable = Assert.IsType<SqlServerUnavailableException>(failure);
        Assert.Equal(SqlFailureKind.CircuitOpen, unavailable.Kind);
        Assert.Single(harness.Events(SafeSqlEventId.CircuitOpened));

        // Act 2: the server comes back; queries are served once the probe has closed the breaker.
        await harness.Database.Server.RestartAsync();
        List<Order>? orders = null;
        for (var i = 0; i < 400 && orders is null; i++)
        {
            try
            {
                await using var context = harness.CreateContext();
                orders = async ? await context.Orders.ToListAsync() : context.Orders.ToList();
            }
            catch (SqlServerUnavailableException)
            {
                await Task.Delay(50);
            }
        }

        // Assert 2: served; the closing is logged once (Polly runs the breaker's OnClosed, which logs it, right after the state
        // changes, so a query can be served a moment before the line is written: waited for, bounded).
        Assert.NotNull(orders);
        Assert.Equal(2, orders.Count);
        for (var i = 0; i < 200 && harness.Events(SafeSqlEventId.CircuitClosed).Count == 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Single(harness.Events(SafeSqlEventId.CircuitClosed));
    }

    private static async Task<Exception> CaptureAsync(EfHarness harness, bool async)
    {
        try
        {
            await using var context = harness.CreateContext();
            _ = async ? await context.Orders.ToListAsync() : context.Orders.ToList();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("The query succeeded.");
    }
}
