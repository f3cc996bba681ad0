using BenchmarkDotNet.Attributes;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql.Benchmarks;

/// <summary>
/// What the connection-string policy costs: <see cref="SqlConnectionStringPolicy.Validate"/> of a typical production
/// string (accepted, normalized) and of a refused one (Pooling=false and a Max Pool Size hike: two errors with messages), against
/// parsing the same string with <see cref="SqlConnectionStringBuilder"/>, which SqlClient does anyway (the baseline).
/// </summary>
/// <remarks>
/// The policy runs once per named instance, at startup (options validation) and when the factory normalizes its string; it is
/// never on the open path, so this is about startup cost, not per-open overhead. No I/O.
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter *Policy*</c>.
/// </remarks>
[MemoryDiagnoser]
public class PolicyBenchmark
{
    /// <summary>A typical Azure SQL / SQL Server string as applications configure it (fictitious host and credentials).</summary>
    public const string Typical =
        "Server=tcp:orders-sql.example.net,1433;Initial Catalog=Orders;Persist Security Info=False;User ID=orders_app;" +
        "Password=Not-A-Real-Secret-42;MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;" +
        "Max Pool Size=200";

    /// <summary>The typical string with the two settings the field reaches for under pool exhaustion; the policy refuses both.</summary>
    public const string Refused = Typical + ";Pooling=false;Max Pool Size=5000";

    [Benchmark(Baseline = true)]
    public string SqlConnectionStringBuilder_Parse() => new SqlConnectionStringBuilder(Typical).ConnectionString;

    [Benchmark]
    public bool Validate_Typical()
    {
        var result = SqlConnectionStringPolicy.Validate(Typical);
        return result.IsAccepted && result.NormalizedConnectionString is not null;
    }

    [Benchmark]
    public int Validate_Refused() => SqlConnectionStringPolicy.Validate(Refused).Findings.Count;
}
