using System.Runtime.CompilerServices;

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.SqlServer.Storage.Internal;

using SafeSql;
using SafeSql.EntityFrameworkCore;

namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// <c>UseSafeSql</c>: EF Core on SQL Server with its connections from a <see cref="SafeSqlDataSource"/> and
/// <see cref="SafeSqlExecutionStrategy"/> as its execution strategy. In namespace <c>Microsoft.EntityFrameworkCore</c>, as
/// EF Core's providers put their <c>Use*</c> methods.
/// </summary>
public static class SafeSqlDbContextOptionsBuilderExtensions
{
    private static readonly ConditionalWeakTable<SafeSqlDataSource, string> s_connectionStrings = [];

    /// <summary>
    /// Configures the context to use SQL Server through <paramref name="dataSource"/>: the connection string is the data
    /// source's (its policy ran when the data source was built, so a refused string such as <c>Pooling=false</c> fails at
    /// startup), each context owns one connection from <see cref="SafeSqlDataSource.CreateConnection"/> (every open EF makes
    /// is a SafeSql lease naming the context type and the line that called this method; one still open when the context
    /// is disposed is reported as a leak), and <see cref="SafeSqlExecutionStrategy"/> retries what SafeSql's failure
    /// classifier says deserves a retry.
    /// </summary>
    /// <param name="optionsBuilder">The builder being used to configure the context.</param>
    /// <param name="dataSource">The data source of the database; one per database for the life of the application.</param>
    /// <param name="sqlServerOptionsAction">Further SQL Server configuration, applied after SafeSql's. Calling
    /// <c>ExecutionStrategy(...)</c> here replaces <see cref="SafeSqlExecutionStrategy"/> (e.g. with one built with other
    /// <see cref="SqlRetryStrategyOptions"/>); <c>EnableRetryOnFailure()</c> replaces it with EF Core's.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the file that configures the context, recorded in its leases.</param>
    /// <param name="callerLineNumber">Filled in by the compiler: the line that configures the context, recorded in its leases.</param>
    /// <returns>The value of <paramref name="optionsBuilder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="optionsBuilder"/> or <paramref name="dataSource"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Works with <c>AddDbContext</c>, <c>AddDbContextPool</c>, <c>AddDbContextFactory</c> and <c>OnConfiguring</c>: EF
    /// creates the connection when a context first needs it, so each context (pooled or not) has its own, and all of them
    /// share SqlClient's pool of the data source's normalized string.
    /// </remarks>
#pragma warning disable RS0026 // Two overloads with optional parameters: EF Core's Use* methods come as this non-generic and generic pair.
    public static DbContextOptionsBuilder UseSafeSql(
        this DbContextOptionsBuilder optionsBuilder,
        SafeSqlDataSource dataSource,
        Action<SqlServerDbContextOptionsBuilder>? sqlServerOptionsAction = null,
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        ArgumentNullException.ThrowIfNull(dataSource);

        // EF keeps the string for what it opens on its own (the master connection of EnsureCreated and migrations), so it needs
        // the password, which an unopened connection's string still holds (SqlClient hides it only once opened); every
        // connection of the context itself comes from the data source (SafeSqlServerConnection).
        // OnConfiguring runs this per context: the string is read once per data source.
        var connectionString = s_connectionStrings.GetValue(dataSource, static source =>
        {
            using var unopened = source.CreateConnection();
            return unopened.ConnectionString;
        });

        optionsBuilder.UseSqlServer(connectionString, sqlServer =>
        {
            sqlServer.ExecutionStrategy(dependencies => new SafeSqlExecutionStrategy(dependencies, dataSource));
            sqlServerOptionsAction?.Invoke(sqlServer);
        });
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(new SafeSqlDbContextOptionsExtension(dataSource, callerFilePath, callerLineNumber));

        // Tells the strategy where a failure happened (what was in flight), which decides whether replaying it is safe. Once:
        // EF appends interceptors, and a second copy would see each step twice.
        if (optionsBuilder.Options.FindExtension<CoreOptionsExtension>()?.Interceptors?.Contains(ReplayInterceptor.Instance) != true)
        {
            optionsBuilder.AddInterceptors(ReplayInterceptor.Instance);
        }
#pragma warning disable EF1001 // EF's provider service: SafeSqlServerConnection derives from it (see there why).
        optionsBuilder.ReplaceService<ISqlServerConnection, SafeSqlServerConnection>();
#pragma warning restore EF1001
        return optionsBuilder;
    }

    /// <inheritdoc cref="UseSafeSql(DbContextOptionsBuilder, SafeSqlDataSource, Action{SqlServerDbContextOptionsBuilder}?, string, int)"/>
    /// <typeparam name="TContext">The type of context being configured.</typeparam>
    public static DbContextOptionsBuilder<TContext> UseSafeSql<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        SafeSqlDataSource dataSource,
        Action<SqlServerDbContextOptionsBuilder>? sqlServerOptionsAction = null,
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)UseSafeSql((DbContextOptionsBuilder)optionsBuilder, dataSource, sqlServerOptionsAction, callerFilePath, callerLineNumber);
#pragma warning restore RS0026
}
