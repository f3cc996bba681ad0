using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// Applies the connection-string policy (<see cref="SqlConnectionStringPolicy"/>) to <see cref="SafeSqlOptions.ConnectionString"/>:
/// one failure per refusing finding, each naming the options instance, the rule id, the current value, the reason, the fix
/// and the source. Warnings are logged (event 4001), refusals logged (event 4002) and returned as failures.
/// </summary>
internal sealed class SafeSqlOptionsCustomValidator : IValidateOptions<SafeSqlOptions>
{
    private readonly ILogger _logger;

    public SafeSqlOptionsCustomValidator(ILoggerFactory? loggerFactory = null)
    {
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("SafeSql.ConnectionStrings.SqlConnectionStringPolicy");
    }

    public ValidateOptionsResult Validate(string? name, SafeSqlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        name ??= Options.DefaultName;

        // A missing connection string or policy is reported by the data annotations validator ([Required]).
        if (string.IsNullOrWhiteSpace(options.ConnectionString) || options.ConnectionStringPolicy is null)
        {
            return ValidateOptionsResult.Skip;
        }

        SqlConnectionStringPolicyResult result;
        try
        {
            result = SqlConnectionStringPolicy.Validate(options.ConnectionString, options.ConnectionStringPolicy);
        }
        catch (ArgumentException)
        {
            // A threshold out of range: the data annotations validator reports it with the property's name.
            return ValidateOptionsResult.Skip;
        }

        var displayName = PoolDisplayName.Of(name);
        var instance = name.Length == 0 ? "SafeSqlOptions.ConnectionString" : $"SafeSqlOptions.ConnectionString of '{name}'";
        var builder = new ValidateOptionsResultBuilder();
        foreach (var finding in result.Findings)
        {
            if (finding.Severity == SqlConnectionStringFindingSeverity.Error)
            {
                DataSourceLog.ConnectionStringRefused(_logger, displayName, finding.RuleId, finding.Message);
                builder.AddError($"{instance} refused. {finding.Message}");
            }
            else
            {
                DataSourceLog.ConnectionStringWarning(_logger, displayName, finding.RuleId, finding.Message);
            }
        }

        if (result.IsAccepted)
        {
            // Data Source and Initial Catalog as the policy read them, withheld when they may be part of a password.
            DataSourceLog.ConnectionStringAccepted(_logger, displayName, result.DisplayedDataSource, result.DisplayedInitialCatalog);
        }

        return builder.Build();
    }
}
