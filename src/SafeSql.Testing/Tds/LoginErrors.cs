namespace SafeSql.Testing.Tds;

/// <summary>
/// The login errors SQL Server and Azure SQL send, with their class and text (sys.messages; learn.microsoft.com
/// "Troubleshoot connectivity issues and other errors with Azure SQL Database", transient-error table).
/// </summary>
internal static class LoginErrors
{
    public static TdsStatement Create(int number, Login7Data login, string serverName)
    {
        var database = login.Database.Length > 0 ? login.Database : "master";
        return number switch
        {
            18456 => TdsStatement.Error(18456, 14, 1, $"Login failed for user '{login.UserName}'."),
            18452 => TdsStatement.Error(18452, 14, 1, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication."),
            4060 => TdsStatement.Error(4060, 11, 1, $"Cannot open database \"{database}\" requested by the login. The login failed."),
            40613 => TdsStatement.Error(40613, 17, 1, $"Database '{database}' on server '{serverName}' is not currently available. Please retry the connection later. If the problem persists, contact customer support, and provide them the session tracing ID of '00000000-0000-0000-0000-000000000000'."),
            40501 => TdsStatement.Error(40501, 20, 1, "The service is currently busy. Retry the request after 10 seconds. Incident ID: 00000000-0000-0000-0000-000000000000. Code: 0."),
            40197 => TdsStatement.Error(40197, 17, 1, "The service has encountered an error processing your request. Please try again. Error code 0."),
            10928 => TdsStatement.Error(10928, 20, 1, "Resource ID : 1. The request limit for the database is 0 and has been reached."),
            10929 => TdsStatement.Error(10929, 20, 1, "Resource ID : 1. The request minimum guarantee is 0, maximum limit is 0, and the current usage for the database is 0. However, the server is currently too busy to support requests greater than 0 for this database."),
            17809 => TdsStatement.Error(17809, 20, 1, "Could not connect because the maximum number of user connections has already been reached. The system administrator can use sp_configure to increase the maximum value. The connection has been closed."),
            _ => TdsStatement.Error(number, 14, 1, $"Login failed with error {number} (injected by the SafeSql loopback server)."),
        };
    }

    /// <summary>Azure SQL's answer to an expired access token at login: 18456, class 14, state 233, "Login failed for user
    /// '&lt;token-identified principal&gt;'. Token is expired." (as clients report it: microsoft/azuredatastudio#14497 and
    /// #16970 "Msg 18456, Level 14, State 233"; dotnet/SqlClient#3245; microsoft/mssql-jdbc#1944).</summary>
    public static TdsStatement TokenExpired() =>
        TdsStatement.Error(18456, 14, 233, "Login failed for user '<token-identified principal>'. Token is expired.");

    /// <summary>A token the server does not accept: 18456, class 14, and the state SQL Server sends clients for every other
    /// login failure (1), naming the principal as Azure SQL does for tokens (dotnet/SqlClient#2238).</summary>
    public static TdsStatement TokenInvalid() =>
        TdsStatement.Error(18456, 14, 1, "Login failed for user '<token-identified principal>'.");
}
