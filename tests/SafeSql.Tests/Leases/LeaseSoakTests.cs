using System.Globalization;

using Xunit.Abstractions;

namespace SafeSql.Tests.Leases;

/// <summary>
/// The short soak (<see cref="LeaseSoak"/>): 200,000 pooled opens by 64 workers through the data source and its scopes,
/// one in 1,000 leaked on purpose. The long run is the benchmark program's <c>soak</c> command
/// (<c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- soak --opens 10000000</c>); <c>SAFESQL_SOAK_OPENS</c>
/// sizes this one.
/// </summary>
/// <remarks>
/// It runs alone (a collection without parallelization): the heap it measures is the whole process's.
/// </remarks>
[Collection(nameof(LeaseSoakTests))]
public sealed class LeaseSoakTests(ITestOutputHelper output)
{
    /// <summary>Gets the size of the run: <c>SAFESQL_SOAK_OPENS</c>, else 200,000 opens.</summary>
    private static long Opens { get; } =
        long.TryParse(Environment.GetEnvironmentVariable("SAFESQL_SOAK_OPENS"), NumberStyles.None, CultureInfo.InvariantCulture, out var opens) && opens >= 10_000 ? opens : 200_000;

    [Fact]
    public async Task Soak_PooledOpensWithPlantedLeaks_HeapFlatEveryLeakReportedOnceNothingLeased()
    {
        // Arrange
        var options = new LeaseSoakOptions { Opens = Opens };

        // Act
        var result = await LeaseSoak.RunAsync(options, output.WriteLine);

        // Assert
        var figures = result.Describe();
        output.WriteLine(figures);
        Assert.True(result.Exceptions == 0, figures);
        Assert.True(result.Planted >= Opens / options.LeakEvery && result.PlantedCollected > 0 && result.PlantedScopeEnd > 0 && result.PlantedHeldTooLong > 0, figures);
        Assert.True(result.EveryLeakReportedOnce, figures);
        Assert.Equal(0, result.LeasedAtEnd);
        Assert.True(Math.Abs(result.HeapDrift) <= 1_000_000 && result.HeapSpread <= 1_000_000, figures);
    }
}

/// <summary>The soak's collection: not run in parallel with any other test, since it measures the process's heap.</summary>
[CollectionDefinition(nameof(LeaseSoakTests), DisableParallelization = true)]
public sealed class LeaseSoakTestGroup;
