using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;

namespace SafeSql.Testing;

/// <summary>
/// Unsigned JSON Web Tokens (RFC 7519, <c>alg</c> "none") for a loopback server with
/// <see cref="LoopbackFederatedAuthenticationOptions"/>: a validator that accepts a JWT whose <c>exp</c> lies ahead, and a
/// factory for such tokens. There is no signature check: a test server proves what a client does with a token, never who
/// holds one.
/// </summary>
public static class LoopbackUnsignedJwt
{
    /// <summary>The identity of a valid token without an identity claim, as Azure SQL names a token's principal in errors.</summary>
    public const string TokenIdentifiedPrincipal = "<token-identified principal>";

    /// <summary>Creates a validator: a token is <see cref="LoopbackTokenStatus.Valid"/> when it is a JWT (three base64url parts,
    /// the signature may be empty) whose payload's <c>exp</c> (seconds since 1970-01-01 UTC) lies after the time provider's
    /// now; <see cref="LoopbackTokenStatus.Expired"/> when <c>exp</c> is now or past; otherwise
    /// <see cref="LoopbackTokenStatus.Invalid"/> (not a JWT, no numeric <c>exp</c>, another audience). The signature is not
    /// checked.</summary>
    /// <param name="timeProvider">The clock <c>exp</c> is compared with; <see langword="null"/> is
    /// <see cref="TimeProvider.System"/>.</param>
    /// <param name="audience">The <c>aud</c> claim a token must carry (compared ordinally; a string or one element of an
    /// array), for example <c>https://database.windows.net/</c>, Azure SQL's; <see langword="null"/> checks none. A token
    /// for another audience is <see cref="LoopbackTokenStatus.Invalid"/>, checked before its expiry.</param>
    /// <returns>A validator for <see cref="LoopbackFederatedAuthenticationOptions(Func{string, LoopbackTokenValidation})"/>.
    /// A valid token's identity is its first non-empty claim of <c>upn</c>, <c>unique_name</c>, <c>preferred_username</c>,
    /// <c>email</c>, <c>oid</c>, <c>sub</c> (the claims Entra ID access tokens carry), else <see cref="TokenIdentifiedPrincipal"/>.</returns>
    public static Func<string, LoopbackTokenValidation> CreateValidator(TimeProvider? timeProvider = null, string? audience = null)
    {
        var clock = timeProvider ?? TimeProvider.System;
        return token => Validate(token, clock.GetUtcNow(), audience);
    }

    /// <summary>Creates an unsigned JWT (header <c>{"alg":"none","typ":"JWT"}</c>, empty signature) with the claims
    /// <c>upn</c>, <c>exp</c> and <c>aud</c> (<c>https://database.windows.net/</c>).</summary>
    /// <param name="identity">The <c>upn</c> claim, for example <c>app@contoso.com</c>.</param>
    /// <param name="expiresAt">The <c>exp</c> claim, rounded down to whole seconds.</param>
    /// <returns>The token: it is a credential for a loopback server; never log it.</returns>
    /// <exception cref="ArgumentException"><paramref name="identity"/> is <see langword="null"/>, empty or white space.</exception>
    public static string Create(string identity, DateTimeOffset expiresAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(identity);
        var header = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("aud", "https://database.windows.net/");
            json.WriteString("upn", identity);
            json.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
            json.WriteEndObject();
        }

        return string.Create(CultureInfo.InvariantCulture, $"{header}.{Base64Url.EncodeToString(buffer.ToArray())}.");
    }

    private static LoopbackTokenValidation Validate(string token, DateTimeOffset now, string? audience)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return LoopbackTokenValidation.Invalid;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = payload.RootElement;
            if (root.ValueKind != JsonValueKind.Object ||
                !root.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out var expSeconds))
            {
                return LoopbackTokenValidation.Invalid;
            }

            if (audience is not null && !HasAudience(root, audience))
            {
                return LoopbackTokenValidation.Invalid;
            }

            if (expSeconds <= now.ToUnixTimeSeconds())
            {
                return LoopbackTokenValidation.Expired;
            }

            foreach (var claim in (ReadOnlySpan<string>)["upn", "unique_name", "preferred_username", "email", "oid", "sub"])
            {
                if (root.TryGetProperty(claim, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString()))
                {
                    return LoopbackTokenValidation.Valid(value.GetString()!);
                }
            }

            return LoopbackTokenValidation.Valid(TokenIdentifiedPrincipal);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return LoopbackTokenValidation.Invalid;
        }
    }

    /// <summary>RFC 7519 4.1.3: <c>aud</c> is a string or an array of strings.</summary>
    private static bool HasAudience(JsonElement payload, string audience)
    {
        if (!payload.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return string.Equals(aud.GetString(), audience, StringComparison.Ordinal);
        }

        return aud.ValueKind == JsonValueKind.Array &&
            aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && string.Equals(a.GetString(), audience, StringComparison.Ordinal));
    }
}
