using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>Federated authentication of a session: the token a client presents at login (inside LOGIN7, or in a FEDAUTH
/// message after the server's FEDAUTHINFO), its validation, and its expiry during the session.</summary>
internal sealed partial class LoopbackSession
{
    /// <summary>What Azure SQL answers a request of a session whose access token it found expired (error 37396; the text as
    /// SqlClient reports it in dotnet/SqlClient#2792). sys.messages' severity for it is not published; 14, the class of
    /// the other security errors (18456), keeps the connection open, as the reports show.</summary>
    private static readonly TdsStatement s_tokenExpiredInSession = TdsStatement.Error(
        37396, 14, 1, "Query cannot be executed, access token is expired. Please login with a new access token and execute query again.");

    /// <summary>The PRELOGIN reply carried FEDAUTHREQUIRED = 0x01: LOGIN7's FEDAUTH feature must echo it.</summary>
    private bool _fedAuthRequiredSent;

    /// <summary>The login name of the session: the user name, or the identity of its access token (<c>SUSER_SNAME()</c>).</summary>
    private string _loginName = string.Empty;

    /// <summary>The session logged in with an access token.</summary>
    private bool _accessTokenLogin;

    /// <summary>The session's token was expired by <see cref="LoopbackSqlServerFaults.ExpireSessionTokens"/>.</summary>
    private volatile bool _accessTokenExpired;

    /// <summary>Marks the session's access token expired, if it logged in with one.</summary>
    /// <returns>Whether the session logged in with an access token.</returns>
    public bool ExpireAccessToken()
    {
        if (!Volatile.Read(ref _accessTokenLogin))
        {
            return false;
        }

        _accessTokenExpired = true;
        return true;
    }

    /// <summary>Authenticates a LOGIN7 that carries the FEDAUTH feature extension. With the security-token library the token
    /// is inside LOGIN7; with the MSAL library the server first sends FEDAUTHINFO (token endpoint and resource) and the client
    /// answers with a FEDAUTH message carrying the token it acquired.</summary>
    /// <returns>The login error, or <see langword="null"/> with the identity to log in as; <c>Identity</c> is
    /// <see langword="null"/> when the client went away.</returns>
    private async Task<(TdsStatement? Failure, string? Identity)> AuthenticateTokenAsync(Login7Data login, Login7FedAuth fedAuth, TdsReader reader, TdsWriter writer, CancellationToken cancellationToken)
    {
        var options = _server.Options.FederatedAuthentication;
        var serverName = _server.Options.ServerName;
        if (options is null)
        {
            // A server without federated authentication (SQL Server without Entra ID) cannot map a token to a login.
            return (LoginErrors.Create(18456, login, serverName), string.Empty);
        }

        if (fedAuth.Echo != _fedAuthRequiredSent)
        {
            // MS-TDS 3.3.5.1: the echo must match the server's FEDAUTHREQUIRED answer, else an ERROR and the connection
            // closes; the specification names no error number, so this is the login failure a client gets for a bad token.
            return (LoginErrors.TokenInvalid(), string.Empty);
        }

        var accessToken = fedAuth.Token;
        if (fedAuth.Library == FedAuth.LibraryMsal)
        {
            FedAuth.WriteFedAuthInfo(writer, options.StsUrl, options.Spn);
            await SendAsync(writer, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            var reply = await reader.ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            if (reply is null)
            {
                return (null, null);
            }

            if (reply.Value.Type != FedAuth.PacketFedAuthToken)
            {
                throw new InvalidDataException($"Expected a FEDAUTH message (type 0x08) after FEDAUTHINFO, received type 0x{reply.Value.Type:X2}.");
            }

            accessToken = FedAuth.ReadTokenMessage(reply.Value.Payload.Span);
        }

        var forced = Faults.FailLoginsWithError;
        if (forced is not null)
        {
            return (LoginErrors.Create(forced.Value, login, serverName), string.Empty);
        }

        if (accessToken is null || fedAuth.Library is not (FedAuth.LibrarySecurityToken or FedAuth.LibraryMsal))
        {
            return (LoginErrors.TokenInvalid(), string.Empty);
        }

        var validation = options.ValidateToken(accessToken);
        return validation.Status switch
        {
            LoopbackTokenStatus.Valid => (null, validation.Identity),
            LoopbackTokenStatus.Expired => (LoginErrors.TokenExpired(), string.Empty),
            _ => (LoginErrors.TokenInvalid(), string.Empty),
        };
    }
}
