using Microsoft.Extensions.Time.Testing;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackUnsignedJwtTests
{
    [Fact]
    public void CreateValidator_TokenBeforeItsExp_IsValidAsItsUpn()
    {
        // Arrange
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var validate = LoopbackUnsignedJwt.CreateValidator(time);
        var token = LoopbackUnsignedJwt.Create("app@contoso.example", time.GetUtcNow().AddSeconds(2));

        // Act
        var before = validate(token);
        time.Advance(TimeSpan.FromSeconds(2));
        var at = validate(token);

        // Assert: exp is exclusive, as RFC 7519 4.1.4 says ("on or after which the JWT MUST NOT be accepted").
        Assert.Equal(LoopbackTokenStatus.Valid, before.Status);
        Assert.Equal("app@contoso.example", before.Identity);
        Assert.Equal(LoopbackTokenStatus.Expired, at.Status);
        Assert.Equal(string.Empty, at.Identity);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJ1cG4iOiJ4In0.")] // {"upn":"x"}: no exp
    [InlineData("eyJhbGciOiJub25lIn0.eyJleHAiOiJzb29uIn0.")] // {"exp":"soon"}
    public void CreateValidator_NotAJwtWithNumericExp_IsInvalid(string token)
    {
        Assert.Equal(LoopbackTokenStatus.Invalid, LoopbackUnsignedJwt.CreateValidator()(token).Status);
    }

    [Fact]
    public void CreateValidator_NoIdentityClaim_IsTheTokenIdentifiedPrincipal()
    {
        // {"exp":4102444800} (2100-01-01)
        var result = LoopbackUnsignedJwt.CreateValidator()("eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.");

        Assert.Equal(LoopbackTokenStatus.Valid, result.Status);
        Assert.Equal(LoopbackUnsignedJwt.TokenIdentifiedPrincipal, result.Identity);
    }

    [Theory]
    [InlineData("https://database.windows.net/", LoopbackTokenStatus.Valid)]
    [InlineData("https://vault.azure.net", LoopbackTokenStatus.Invalid)]
    public void CreateValidator_WithAudience_RefusesATokenForAnotherAudience(string audience, LoopbackTokenStatus expected)
    {
        // Create writes aud "https://database.windows.net/", Azure SQL's resource.
        var token = LoopbackUnsignedJwt.Create("app@contoso.example", DateTimeOffset.UtcNow.AddHours(1));

        Assert.Equal(expected, LoopbackUnsignedJwt.CreateValidator(audience: audience)(token).Status);
    }

    [Fact]
    public void CreateValidator_AudienceArray_MatchesAnyElement()
    {
        // {"aud":["a","b"],"exp":4102444800}
        var validate = LoopbackUnsignedJwt.CreateValidator(audience: "b");

        Assert.Equal(LoopbackTokenStatus.Valid, validate("eyJhbGciOiJub25lIn0.eyJhdWQiOlsiYSIsImIiXSwiZXhwIjo0MTAyNDQ0ODAwfQ.").Status);
    }

    [Fact]
    public void Valid_BlankIdentity_Throws()
    {
        Assert.Equal("identity", Assert.Throws<ArgumentException>(() => LoopbackTokenValidation.Valid(" ")).ParamName);
    }
}
