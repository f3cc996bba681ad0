using System.Globalization;
using System.Runtime.InteropServices;

using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Tool.Commands;

/// <summary>
/// <c>safesql serve [--port N] [--user NAME] [--password PASSWORD | --federated-auth]</c>: only the loopback SQL Server, until
/// Ctrl+C. Without <c>--password</c> any password is accepted for the user; a password given is required and never printed.
/// With <c>--federated-auth</c> it plays an Azure SQL server with Microsoft Entra-only authentication: every login needs an
/// access token, a JWT whose <c>exp</c> lies ahead is accepted without any signature check (it says so when it starts), an
/// expired one is refused with Azure SQL's error 18456 state 233 "Token is expired"; no token is ever printed. The server
/// speaks TLS with a self-signed certificate; the printed connection string pins it (<c>Server Certificate</c>, SqlClient 6.0.1+).
/// </summary>
internal static class ServeCommand
{
    public const string Usage = "serve [--port N] [--user NAME] [--password PASSWORD | --federated-auth]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var options = new LoopbackSqlServerOptions { Password = null }; // any password, so there is no secret to print
        var passwordGiven = false;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--federated-auth":
                    options.FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator())
                    {
                        AllowSqlAuthentication = false,
                    };
                    continue;
                case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535:
                    options.Port = port;
                    break;
                case "--user" when value is not null:
                    options.UserName = value;
                    break;
                case "--password" when value is not null:
                    options.Password = value;
                    passwordGiven = true;
                    break;
                default:
                    // Never echo a value: it may be the password.
                    await error.WriteLineAsync($"serve: unknown or incomplete option{(args[i].StartsWith("--", StringComparison.Ordinal) ? $" '{args[i]}'" : string.Empty)}. Usage: safesql {Usage}");
                    return SafeSqlCommandLine.UsageError;
            }

            i++;
        }

        if (options.FederatedAuthentication is not null && passwordGiven)
        {
            await error.WriteLineAsync($"serve: --federated-auth requires an access token at every login, so --password has no use. Usage: safesql {Usage}");
            return SafeSqlCommandLine.UsageError;
        }

        await using var server = await LoopbackSqlServer.StartAsync(options);
        if (options.FederatedAuthentication is not null)
        {
            await WriteFederatedAsync(server, output);
        }
        else
        {
            await WriteSqlAuthenticationAsync(server, options, output);
        }

        var stop = new TaskCompletionSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await stop.Task;

        var counters = server.Counters;
        output.WriteLine($"Stopped: {counters.TcpConnectionsAccepted} TCP connections, {counters.Logins} logins ({counters.AccessTokenLogins} with an access token), {counters.FailedLogins} failed logins, {counters.Batches} batches, {counters.Rpcs} RPCs.");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }

    private static async Task WriteSqlAuthenticationAsync(LoopbackSqlServer server, LoopbackSqlServerOptions options, TextWriter output)
    {
        var password = options.Password is null ? "<any>" : "<the --password given>";

        // The server's own string with the password replaced: it pins the certificate, so SqlClient's defaults (Encrypt=Mandatory)
        // validate the server without TrustServerCertificate=True.
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { Password = password }.ConnectionString;
        output.WriteLine($"Loopback SQL Server listening on 127.0.0.1:{server.Port} (TDS 7.4 and 8.0, TLS with a self-signed certificate). Press Ctrl+C to stop.");
        output.WriteLine($"  Certificate: {server.CertificatePath} (DER .cer, deleted when the server stops; SqlClient pins it with Server Certificate=<path>)");
        output.WriteLine($"  SqlClient: {connectionString}");
        output.WriteLine($"  SqlClient, TDS 8.0: {connectionString};Encrypt=Strict");
        output.WriteLine($"  FreeTDS:   TDSVER=7.4 tsql -H 127.0.0.1 -p {server.Port} -U {options.UserName} -P '{password}' (whole connection in TLS: encryption = require in freetds.conf)");
        await output.FlushAsync();
    }

    private static async Task WriteFederatedAsync(LoopbackSqlServer server, TextWriter output)
    {
        // No user name or password: SqlClient refuses AccessToken beside them.
        var builder = new SqlConnectionStringBuilder(server.ConnectionString);
        builder.Remove("User ID");
        builder.Remove("Password");
        output.WriteLine($"Loopback SQL Server listening on 127.0.0.1:{server.Port} (TDS 7.4 and 8.0, TLS with a self-signed certificate). Press Ctrl+C to stop.");
        output.WriteLine("  Federated authentication (Microsoft Entra-only, as Azure SQL): every login needs an access token; SQL logins are refused.");
        output.WriteLine("  Tokens: a JWT whose 'exp' lies ahead is accepted as its 'upn' (or unique_name, preferred_username, email, oid, sub).");
        output.WriteLine("  WARNING: NO SIGNATURE, ISSUER OR AUDIENCE CHECK. This is a test server: anyone who can reach it logs in with a token they wrote.");
        output.WriteLine("  An expired token is refused with error 18456, state 233: \"Login failed for user '<token-identified principal>'. Token is expired.\"");
        output.WriteLine($"  Certificate: {server.CertificatePath} (DER .cer, deleted when the server stops; SqlClient pins it with Server Certificate=<path>)");
        output.WriteLine($"  SqlClient: {builder.ConnectionString} (set SqlConnection.AccessToken or AccessTokenCallback)");
        output.WriteLine($"  tedious:   authentication type 'azure-active-directory-access-token', server 127.0.0.1, port {server.Port}, encrypt true");
        await output.FlushAsync();
    }
}
