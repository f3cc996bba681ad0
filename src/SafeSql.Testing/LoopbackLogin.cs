namespace SafeSql.Testing;

/// <summary>One LOGIN7 request the server received, as the client sent it (MS-TDS 2.2.6.4).</summary>
/// <remarks><see cref="ToString"/> never includes the password.</remarks>
public sealed class LoopbackLogin
{
    internal LoopbackLogin(int sessionId, string userName, string password, string database, string applicationName, string hostName, int packetSize, bool succeeded, LoopbackConnectionEncryption encryption, bool usedAccessToken = false)
    {
        UsedAccessToken = usedAccessToken;
        SessionId = sessionId;
        UserName = userName;
        Password = password;
        Database = database;
        ApplicationName = applicationName;
        HostName = hostName;
        PacketSize = packetSize;
        Succeeded = succeeded;
        Encryption = encryption;
    }

    /// <summary>Gets the session id (SPID) the server gave the connection.</summary>
    public int SessionId { get; }

    /// <summary>Gets whether the client presented an access token (federated authentication) instead of a user name and
    /// password. The token itself is never recorded.</summary>
    public bool UsedAccessToken { get; }

    /// <summary>Gets the login name (<c>User ID</c>); for a login with an access token, the identity the token validator
    /// returned (empty when the token was refused).</summary>
    public string UserName { get; }

    /// <summary>Gets the de-obfuscated password the client sent, so a test can assert what reached the server. Never log it.</summary>
    public string Password { get; }

    /// <summary>Gets the requested database (<c>Initial Catalog</c>); empty when none was given.</summary>
    public string Database { get; }

    /// <summary>Gets the application name (<c>Application Name</c>; SqlClient's default is "Core Microsoft SqlClient Data Provider").</summary>
    public string ApplicationName { get; }

    /// <summary>Gets the client's host name (<c>Workstation ID</c>).</summary>
    public string HostName { get; }

    /// <summary>Gets the packet size the client asked for, in bytes (<c>Packet Size</c>; SqlClient's default is 8000).</summary>
    public int PacketSize { get; }

    /// <summary>Gets whether the server answered the login with LOGINACK.</summary>
    public bool Succeeded { get; }

    /// <summary>Gets how the connection that sent this LOGIN7 was encrypted.</summary>
    public LoopbackConnectionEncryption Encryption { get; }

    /// <summary>Returns a description without the password.</summary>
    /// <returns>For example <c>sa@master (app 'Core Microsoft SqlClient Data Provider', session 51, succeeded)</c>.</returns>
    public override string ToString() =>
        $"{UserName}@{Database} (app '{ApplicationName}', session {SessionId}, {(Succeeded ? "succeeded" : "failed")})";
}
