namespace SafeSql.Testing.Tests;

public sealed class LoopbackFederatedAuthenticationOptionsTests
{
    [Fact]
    public void ArgumentValidation_NullValidatorOrBlankEndpoint_Throws()
    {
        Assert.Equal("validateToken", Assert.Throws<ArgumentNullException>(() => new LoopbackFederatedAuthenticationOptions(null!)).ParamName);
        var options = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator());
        Assert.Equal("value", Assert.Throws<ArgumentException>(() => options.StsUrl = " ").ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentException>(() => options.Spn = string.Empty).ParamName);
    }
}
