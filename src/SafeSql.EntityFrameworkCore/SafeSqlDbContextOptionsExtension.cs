using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Carries the data source of <c>UseSafeSql</c> in the context's options, where <see cref="SafeSqlServerConnection"/> reads
/// it. It adds no services of its own: the internal service provider stays shared by every context that uses SafeSql.
/// </summary>
internal sealed class SafeSqlDbContextOptionsExtension(SafeSqlDataSource dataSource, string? filePath, int lineNumber) : IDbContextOptionsExtension
{
    private ExtensionInfo? _info;

    public SafeSqlDataSource DataSource { get; } = dataSource;

    /// <summary>Gets the file that called <c>UseSafeSql</c> (recorded in leases), or <see langword="null"/>.</summary>
    public string? FilePath { get; } = string.IsNullOrEmpty(filePath) ? null : filePath;

    public int LineNumber { get; } = lineNumber;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    public void ApplyServices(IServiceCollection services)
    {
    }

    public void Validate(IDbContextOptions options)
    {
    }

    private sealed class ExtensionInfo(IDbContextOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "using SafeSql ";

        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo) => debugInfo["SafeSql"] = "1";
    }
}
