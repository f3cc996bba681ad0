using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>
/// Gives the connection string a factory opens connections with: the options' connection string, validated and normalized by
/// <see cref="SqlConnectionStringPolicy"/> with the options' <see cref="SafeSqlOptions.ConnectionStringPolicy"/>.
/// </summary>
internal static class SqlConnectionStringNormalizer
{
    /// <summary>Normalizes <see cref="SafeSqlOptions.ConnectionString"/>; the factory calls this once per options instance.</summary>
    /// <param name="options">The validated options of one SafeSql instance.</param>
    /// <returns>The normalized connection string (it contains the password: never log it).</returns>
    /// <exception cref="InvalidOperationException">The connection string is missing or refused by the policy. Startup validation
    /// (<c>ValidateOnStart</c>) normally reports this first; the message names each rule and never contains the password.</exception>
    internal static string Normalize(SafeSqlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new InvalidOperationException(
                "SafeSqlOptions.ConnectionString is not set. Pass the connection string to AddSafeSql or set SafeSqlOptions.ConnectionString.");
        }

        var result = SqlConnectionStringPolicy.Validate(options.ConnectionString, options.ConnectionStringPolicy);
        if (!result.IsAccepted)
        {
            throw new InvalidOperationException(
                "SafeSql refused the connection string: " + string.Join(" ", result.Errors.Select(e => e.Message)));
        }

        return result.NormalizedConnectionString!;
    }
}
