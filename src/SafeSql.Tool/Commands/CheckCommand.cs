using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tool.Commands;

/// <summary>
/// <c>safesql check "&lt;connection string&gt;"</c>: the connection-string policy's verdict, as SafeSql gives it at startup. Exit code 0
/// when the string is accepted, 2 when it is refused. The password is never printed.
/// </summary>
internal static class CheckCommand
{
    public const int Accepted = 0;
    public const int Refused = 2;

    public static int Run(string connectionString, TextWriter output)
    {
        var result = SqlConnectionStringPolicy.Validate(connectionString); // never throws for a bad string
        output.WriteLine(result); // "Refused: SAFESQL004 (1 error, 0 warnings)."
        foreach (var finding in result.Findings)
        {
            output.WriteLine();
            output.WriteLine($"  {finding.RuleId} ({finding.Severity}) {finding.Description}");
            output.WriteLine($"    Why:    {finding.Reason}");
            output.WriteLine($"    Fix:    {finding.Fix}");
            output.WriteLine($"    Source: {finding.Source}");
        }

        if (result.NormalizedConnectionString is { } normalized)
        {
            output.WriteLine();
            output.WriteLine($"  Normalized (every open shares one pool): {WithoutPassword(normalized)}");
        }

        return result.IsAccepted ? Accepted : Refused;
    }

    /// <summary>The connection string with its password masked (the builder maps Pwd to Password).</summary>
    private static string WithoutPassword(string connectionString)
    {
        var builder = new SqlConnectionStringBuilder(connectionString);
        if (builder.Password.Length > 0)
        {
            builder.Password = "*****";
        }

        return builder.ConnectionString;
    }
}
