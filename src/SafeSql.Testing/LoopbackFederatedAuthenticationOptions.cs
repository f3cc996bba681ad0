namespace SafeSql.Testing;

/// <summary>
/// Federated authentication (Microsoft Entra ID access tokens) on a <see cref="LoopbackSqlServer"/>, as Azure SQL speaks it:
/// PRELOGIN answers FEDAUTHREQUIRED, LOGIN7's FEDAUTH feature extension carries the token (SqlClient's
/// <c>SqlConnection.AccessToken</c>), or the server sends FEDAUTHINFO and the client answers with a FEDAUTH message (SqlClient's
/// <c>AccessTokenCallback</c> and its <c>Authentication=Active Directory ...</c> modes); FEATUREEXTACK acknowledges it. Set on
/// <see cref="LoopbackSqlServerOptions.FederatedAuthentication"/>.
/// </summary>
/// <remarks>
/// The server never logs, records or returns a token: <see cref="LoopbackLogin"/> records only that one was used and the
/// identity the validator returned. SqlClient sends a token only over an encrypted connection in practice (its default
/// <c>Encrypt=Mandatory</c>); the server accepts whatever the client sends. Faults: an expired token at login
/// (<see cref="LoopbackTokenStatus.Expired"/>), a token that expires during a session
/// (<see cref="LoopbackSqlServerFaults.ExpireSessionTokens"/>, error 37396 on the next request). An identity provider that
/// cannot be reached is the client's failure (SqlClient calls it before or during login): it never reaches the server.
/// </remarks>
public sealed class LoopbackFederatedAuthenticationOptions
{
    private string _stsUrl = "https://login.microsoftonline.com/common";
    private string _spn = "https://database.windows.net/";

    /// <summary>Creates the options with the validator every presented token goes through.</summary>
    /// <param name="validateToken">Called once per login that presents a token, on the session's thread, with the token
    /// exactly as the client sent it; returns whether it is valid, expired or invalid, and the identity of a valid one.
    /// <see cref="LoopbackUnsignedJwt.CreateValidator(TimeProvider?, string?)"/> is a ready one for unsigned JWTs.</param>
    /// <exception cref="ArgumentNullException"><paramref name="validateToken"/> is <see langword="null"/>.</exception>
    public LoopbackFederatedAuthenticationOptions(Func<string, LoopbackTokenValidation> validateToken)
    {
        ArgumentNullException.ThrowIfNull(validateToken);
        ValidateToken = validateToken;
    }

    /// <summary>Gets the token validator.</summary>
    public Func<string, LoopbackTokenValidation> ValidateToken { get; }

    /// <summary>Gets or sets whether SQL authentication (user name and password) keeps working next to tokens, as on an Azure
    /// SQL server without "Microsoft Entra-only authentication".</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    /// <remarks><see langword="false"/> fails every login without a token with error 18456, class 14, state 1.</remarks>
    public bool AllowSqlAuthentication { get; set; } = true;

    /// <summary>Gets or sets the token endpoint sent in FEDAUTHINFO (STSURL): SqlClient passes it to
    /// <c>AccessTokenCallback</c> as <c>SqlAuthenticationParameters.Authority</c>.</summary>
    /// <value>The default value is <c>"https://login.microsoftonline.com/common"</c>.</value>
    /// <exception cref="ArgumentException">Set to <see langword="null"/>, empty or white space (SqlClient refuses a FEDAUTHINFO
    /// without it).</exception>
    public string StsUrl
    {
        get => _stsUrl;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _stsUrl = value;
        }
    }

    /// <summary>Gets or sets the resource sent in FEDAUTHINFO (SPN): SqlClient passes it to <c>AccessTokenCallback</c> as
    /// <c>SqlAuthenticationParameters.Resource</c>.</summary>
    /// <value>The default value is <c>"https://database.windows.net/"</c>, Azure SQL's resource.</value>
    /// <exception cref="ArgumentException">Set to <see langword="null"/>, empty or white space (SqlClient refuses a FEDAUTHINFO
    /// without it).</exception>
    public string Spn
    {
        get => _spn;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _spn = value;
        }
    }
}
