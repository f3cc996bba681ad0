using System.Data.Common;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

using Polly;

using SafeSql.ConnectionStrings;
using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

using Xunit.Abstractions;

using static SafeSql.Tests.ConnectionStrings.ConnectionStringFuzz;

namespace SafeSql.Tests.ConnectionStrings;

/// <summary>
/// Property-based fuzz tests over generated connection strings (<see cref="ConnectionStringFuzz"/>): every public entry point
/// that takes a connection string throws nothing but its documented exception, no text SafeSql produces holds the password
/// marker or a 4-character piece of it, normalization is idempotent, and SafeSql accepts and refuses what SqlClient's own
/// parser accepts and refuses wherever SafeSql adds no rule of its own.
/// </summary>
public sealed class ConnectionStringFuzzTests(ITestOutputHelper output)
{
    // SafeSql's thresholds at their most lenient: what is still refused is SqlClient's refusal, or a rule with no opt-out.
    private static readonly SqlConnectionStringPolicyOptions s_lenient = new()
    {
        AllowPoolingDisabled = true,
        AllowConnectionLifetime = true,
        MinConnectionLifetime = TimeSpan.FromSeconds(1),
        ConnectTimeoutLimit = TimeSpan.FromDays(1),
        MaxPoolSizeLimit = 32_767,
    };

    [Fact]
    public void Tokenizer_AnyString_ReadsWhatDbConnectionStringBuilderReads()
    {
        var cases = Run(nameof(Tokenizer_AnyString_ReadsWhatDbConnectionStringBuilderReads), output, connectionString =>
        {
            // Act
            var entries = new List<SqlConnectionStringEntry>();
            var tokenized = SqlConnectionStringTokenizer.TryTokenize(connectionString, entries, out var errorIndex);
            string? builderError = null;
            var builder = new DbConnectionStringBuilder();
            try
            {
                builder.ConnectionString = connectionString;
            }
            catch (ArgumentException ex)
            {
                builderError = ex.Message;
            }

            // Assert: same verdict, same error position, and the last value of each keyword is the builder's.
            // (DbConnectionStringBuilder also refuses a keyword with a control character, such as a tab, after parsing: a rule of
            // that builder, not of the syntax; SqlClient refuses such a keyword as not supported.)
            var syntaxError = builderError is not null && builderError.Contains("starting at index", StringComparison.Ordinal);
            Assert.True(tokenized == !syntaxError, $"Tokenizer says {(tokenized ? "well formed" : "malformed")}, DbConnectionStringBuilder disagrees.");
            if (!tokenized)
            {
                Assert.EndsWith($"starting at index {errorIndex}.", builderError!, StringComparison.Ordinal);
                return;
            }

            if (builderError is not null)
            {
                Assert.Contains(entries, e => e.Keyword.Any(char.IsControl));
                return;
            }

            var expected = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                var key = entry.Keyword.ToLowerInvariant();
                if (entry.Value is null)
                {
                    expected.Remove(key);
                }
                else
                {
                    expected[key] = entry.Value;
                }
            }

            Assert.Equal(expected.Count, builder.Count);
            foreach (var (key, value) in expected)
            {
                Assert.True(builder.TryGetValue(key, out var actual) && Equals(value, actual), "An entry's keyword or value differs from DbConnectionStringBuilder's.");
            }
        });

        // Assert
        Assert.True(cases >= 1);
    }

    [Fact]
    public void Validate_AnyString_NeverThrowsNeverEchoesThePasswordAndAgreesWithSqlClient()
    {
        var cases = Run(nameof(Validate_AnyString_NeverThrowsNeverEchoesThePasswordAndAgreesWithSqlClient), output, connectionString =>
        {
            // Act
            var result = SqlConnectionStringPolicy.Validate(connectionString, s_lenient);

            // Assert: nothing of the password in any text.
            AssertNoMarker(result);

            // Assert: SqlClient refuses => SafeSql refuses; SqlClient accepts => only SafeSql's own rules refuse.
            var sqlClientAccepts = SqlClientAccepts(connectionString, out var builder);
            if (!sqlClientAccepts)
            {
                Assert.False(result.IsAccepted, "SqlClient refuses the string but the policy accepts it.");
                return;
            }

            var tooLong = builder!.ApplicationName.Length > 128 || builder.WorkstationID.Length > 128;
            foreach (var error in result.Errors)
            {
                var own = error.RuleId is "SAFESQL007" or "SAFESQL008" or "SAFESQL009" or "SAFESQL010" or "SAFESQL011" or "SAFESQL013" || (error.RuleId == "SAFESQL003" && tooLong);
                Assert.True(own, $"SqlClient accepts the string but the policy refuses it with {error.RuleId}, which is not a rule of SafeSql's own.");
            }
        });

        // Assert
        Assert.True(cases >= 1);
    }

    [Fact]
    public void Validate_AcceptedString_NormalizesIdempotently()
    {
        var accepted = 0;
        var cases = Run(nameof(Validate_AcceptedString_NormalizesIdempotently), output, connectionString =>
        {
            // Act
            var first = SqlConnectionStringPolicy.Validate(connectionString, s_lenient);
            if (!first.IsAccepted)
            {
                return;
            }

            accepted++;
            var second = SqlConnectionStringPolicy.Validate(first.NormalizedConnectionString!, s_lenient);

            // Assert: the normalized string is accepted and is its own normalization (compared without printing it).
            Assert.True(second.IsAccepted, "The normalized string is refused on a second pass: " + string.Join(" | ", second.Errors.Select(e => Redact(e.Message))));
            Assert.True(
                string.Equals(first.NormalizedConnectionString, second.NormalizedConnectionString, StringComparison.Ordinal),
                "Normalize(Normalize(s)) differs from Normalize(s): " + Redact(first.NormalizedConnectionString!) + " -> " + Redact(second.NormalizedConnectionString!));
        });

        // Assert: the generator reaches accepted strings often enough for the property to mean something.
        output.WriteLine($"{accepted} of {cases} strings accepted.");
        Assert.True(cases < 1000 || accepted > cases / 50, $"Only {accepted} of {cases} generated strings were accepted.");
    }

    [Fact]
    public void Normalize_AnyString_ThrowsOnlyInvalidOperationExceptionWithoutThePassword()
    {
        var cases = Run(nameof(Normalize_AnyString_ThrowsOnlyInvalidOperationExceptionWithoutThePassword), output, connectionString =>
        {
            // Arrange
            var options = new SafeSqlOptions { ConnectionString = connectionString, ConnectionStringPolicy = s_lenient };

            // Act
            try
            {
                SqlConnectionStringNormalizer.Normalize(options);
            }
            catch (InvalidOperationException ex)
            {
                // Assert
                AssertNoMarker(ex);
            }
        });

        // Assert
        Assert.True(cases >= 1);
    }

    [Fact]
    public void RetryBuilders_AnyString_ThrowOnlyTheDocumentedArgumentExceptionWhenSqlClientRefuses()
    {
        var cases = Run(nameof(RetryBuilders_AnyString_ThrowOnlyTheDocumentedArgumentExceptionWhenSqlClientRefuses), output, connectionString =>
        {
            // Arrange
            var sqlClientReads = SqlClientReads(connectionString);
            Action[] entryPoints =
            [
                () => new ResiliencePipelineBuilder().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString),
                () => new ResiliencePipelineBuilder<SqlConnection>().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString),
                () => new ResiliencePipelineBuilder().AddSqlRetry(new SqlRetryStrategyOptions(), connectionString),
                () => new ResiliencePipelineBuilder<int>().AddSqlRetry(new SqlRetryStrategyOptions(), connectionString),
            ];

            foreach (var entryPoint in entryPoints)
            {
                // Act
                var ex = Record.Exception(entryPoint);

                // Assert: accepted exactly when SqlConnectionStringBuilder reads it; else the fixed message, nothing chained.
                if (sqlClientReads)
                {
                    Assert.True(ex is null, $"SqlConnectionStringBuilder reads the string, but the retry builder threw {ex?.GetType().Name}: {Redact(ex?.Message ?? "")}");
                    continue;
                }

                var argument = Assert.IsType<ArgumentException>(ex);
                Assert.Equal(SqlRetryPolicy.UnparsableConnectionStringMessage + " (Parameter 'connectionString')", argument.Message);
                Assert.Equal("connectionString", argument.ParamName);
                Assert.Null(argument.InnerException);
            }
        });

        // Assert
        Assert.True(cases >= 1);
    }

    [Fact]
    public void StartupValidation_AnyString_ThrowsOnlyOptionsValidationExceptionAndLogsNothingOfThePassword()
    {
        var cases = Run(nameof(StartupValidation_AnyString_ThrowsOnlyOptionsValidationExceptionAndLogsNothingOfThePassword), output, connectionString =>
        {
            // Arrange: what the host runs at start (ValidateOnStart), with a logger that keeps every record.
            var logs = new FakeLogCollector();
            var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
            try
            {
                services.AddSafeSql(connectionString);
            }
            catch (ArgumentException ex) when (string.IsNullOrWhiteSpace(connectionString))
            {
                // Documented: a blank connection string is refused at registration.
                Assert.Equal("connectionString", ex.ParamName);
                return;
            }

            using var provider = services.BuildServiceProvider();

            // Act
            Exception? failure = null;
            try
            {
                provider.GetRequiredService<IStartupValidator>().Validate();
            }
            catch (OptionsValidationException ex)
            {
                failure = ex;
            }

            // Assert
            AssertNoMarker(failure);
            foreach (var record in logs.GetSnapshot())
            {
                Assert.False(HasMarker(record.Message), "A log record holds a piece of the password (not shown).");
                AssertNoMarker(record.Exception);
                foreach (var (_, value) in record.StructuredState ?? [])
                {
                    Assert.False(HasMarker(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)), "A log record's structured value holds a piece of the password (not shown).");
                }
            }
        });

        // Assert
        Assert.True(cases >= 1);
    }

    [Fact]
    public async Task Classify_AnyDataSourceString_NeverThrowsNorEchoesThePassword()
    {
        // Arrange: a real SqlException from a real login failure on the loopback server (no OS evidence is needed for it, so
        // the generated data sources are never resolved or connected to).
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        Exception failure;
        await using (var connection = new SqlConnection(server.ConnectionString + ";Pooling=false"))
        {
            failure = await Assert.ThrowsAsync<SqlException>(() => connection.OpenAsync());
        }

        var cases = Run(nameof(Classify_AnyDataSourceString_NeverThrowsNorEchoesThePassword), output, connectionString =>
        {
            var dataSource = SqlClientReads(connectionString, out var builder) ? builder!.DataSource : connectionString;
            foreach (var source in new[] { connectionString, dataSource })
            {
                // Act
                var classified = SqlFailureClassifier.Classify(failure, source);
                var open = SqlFailureClassifier.ClassifyOpenFailure(failure, source);

                // Assert
                Assert.Equal(SqlFailureKind.AuthenticationFailure, classified.Kind);
                Assert.Equal(SqlFailureKind.AuthenticationFailure, open.Kind);
                Assert.False(HasMarker(classified.Explanation) || HasMarker(open.Explanation), "The explanation holds a piece of the data source's password (not shown).");
            }
        });

        // Assert
        Assert.True(cases >= 1);
    }

    private static bool SqlClientReads(string connectionString) => SqlClientReads(connectionString, out _);

    private static bool SqlClientReads(string connectionString, out SqlConnectionStringBuilder? builder)
    {
        try
        {
            builder = new SqlConnectionStringBuilder(connectionString);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            builder = null;
            return false;
        }
    }

    /// <summary>SqlClient accepts a string when both its readers do: the builder and the connection (which checks combinations).</summary>
    private static bool SqlClientAccepts(string connectionString, out SqlConnectionStringBuilder? builder)
    {
        if (!SqlClientReads(connectionString, out builder))
        {
            return false;
        }

        try
        {
            using var connection = new SqlConnection(connectionString);
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or NullReferenceException or InvalidOperationException)
        {
            // NullReferenceException: SqlClient 6.1.8 and 7.1.1 fail that way on an empty value of some keywords (Pooling=).
            return false;
        }
    }

    private static void AssertNoMarker(SqlConnectionStringPolicyResult result)
    {
        Assert.False(HasMarker(result.ToString()), "The result's summary holds a piece of the password (not shown).");
        foreach (var finding in result.Findings)
        {
            var texts = new[] { finding.Message, finding.Description, finding.Reason, finding.Fix, finding.Keyword, finding.CurrentValue, finding.ToString() };
            Assert.False(texts.Any(HasMarker), $"Finding {finding.RuleId} holds a piece of the password (not shown).");
        }
    }

    private static void AssertNoMarker(Exception? exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            Assert.False(HasMarker(ex.Message) || HasMarker(ex.ToString()), $"A {ex.GetType().Name} message holds a piece of the password (not shown).");
            if (ex is OptionsValidationException validation)
            {
                Assert.False(validation.Failures.Any(HasMarker), "An options validation failure holds a piece of the password (not shown).");
            }
        }
    }
}
