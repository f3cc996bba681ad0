namespace SafeSql.Testing;

/// <summary>What a token validator decided about an access token a client presented at login
/// (<see cref="LoopbackFederatedAuthenticationOptions.ValidateToken"/>).</summary>
public enum LoopbackTokenStatus
{
    /// <summary>The token is accepted: the login succeeds as the token's identity.</summary>
    Valid = 0,

    /// <summary>The token has expired: the login fails with error 18456, class 14, state 233, "Login failed for user
    /// '&lt;token-identified principal&gt;'. Token is expired.", as Azure SQL reports it.</summary>
    Expired = 1,

    /// <summary>The token is not accepted (wrong audience, issuer, signature, malformed): the login fails with error 18456,
    /// class 14, state 1, "Login failed for user '&lt;token-identified principal&gt;'.".</summary>
    Invalid = 2,
}
