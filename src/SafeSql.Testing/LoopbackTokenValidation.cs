namespace SafeSql.Testing;

/// <summary>The result of validating an access token: its status and, for a valid token, the identity the session logs in
/// as (what <c>SUSER_SNAME()</c> returns and <see cref="LoopbackLogin.UserName"/> records).</summary>
public sealed class LoopbackTokenValidation
{
    private LoopbackTokenValidation(LoopbackTokenStatus status, string identity)
    {
        Status = status;
        Identity = identity;
    }

    /// <summary>Gets the result for an expired token.</summary>
    public static LoopbackTokenValidation Expired { get; } = new(LoopbackTokenStatus.Expired, string.Empty);

    /// <summary>Gets the result for a token that is not accepted.</summary>
    public static LoopbackTokenValidation Invalid { get; } = new(LoopbackTokenStatus.Invalid, string.Empty);

    /// <summary>Gets the validator's decision.</summary>
    public LoopbackTokenStatus Status { get; }

    /// <summary>Gets the identity of a valid token (for example its <c>upn</c> claim); empty otherwise.</summary>
    public string Identity { get; }

    /// <summary>Creates the result for a valid token.</summary>
    /// <param name="identity">The identity the session logs in as, for example <c>app@contoso.com</c>.</param>
    /// <returns>A result with <see cref="LoopbackTokenStatus.Valid"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="identity"/> is <see langword="null"/>, empty or white space.</exception>
    public static LoopbackTokenValidation Valid(string identity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(identity);
        return new(LoopbackTokenStatus.Valid, identity);
    }

    /// <summary>Returns the status and identity (a validation result never holds the token).</summary>
    /// <returns>For example <c>Valid (app@contoso.com)</c>.</returns>
    public override string ToString() => Status == LoopbackTokenStatus.Valid ? $"Valid ({Identity})" : Status.ToString();
}
