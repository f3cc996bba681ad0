namespace SafeSql.Testing.Tds;

/// <summary>The LOGIN7 fields the server uses.</summary>
internal sealed class Login7Data
{
    public uint TdsVersion { get; init; }

    public int PacketSize { get; init; }

    public int ClientProcessId { get; init; }

    public string HostName { get; init; } = string.Empty;

    public string UserName { get; init; } = string.Empty;

    public string Password { get; init; } = string.Empty;

    public string ApplicationName { get; init; } = string.Empty;

    public string ServerName { get; init; } = string.Empty;

    public string ClientInterfaceName { get; init; } = string.Empty;

    public string Language { get; init; } = string.Empty;

    public string Database { get; init; } = string.Empty;

    public bool IntegratedSecurity { get; init; }

    public bool ReadOnlyIntent { get; init; }

    /// <summary>The FEDAUTH feature extension, when the client asked for federated authentication.</summary>
    public Login7FedAuth? FedAuth { get; init; }
}
