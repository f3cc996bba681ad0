using Microsoft.Data.SqlClient;
using static SafeSql.Testing.Tests.LoopbackSqlServerFaultsTests;
using static SafeSql.Testing.Tests.LoopbackSqlServerTests;

namespace SafeSql.Testing.Tests;

/// <summary>
/// Federated authentication (Microsoft Entra ID access tokens) as Azure SQL speaks it, proven with the real SqlClient (6.1.8
/// and 7.1.1) over TCP and TLS: <c>SqlConnection.AccessToken</c> (the token inside LOGIN7) and <c>AccessTokenCallback</c>
/// (FEDAUTHINFO, then the token in a FEDAUTH message), an expired or refused token at login, and a token that expires during
/// a session.
/// </summary>
public sealed class LoopbackSqlServerFederatedAuthenticationTests
{
    private const string Identity = "app@contoso.example";

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Open_ValidToken_LogsInAsTheTokensIdentity(bool async, bool callback)
    {
        // Arrange
        var validations = 0;
        var validator = LoopbackUnsignedJwt.CreateValidator();
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(token =>
            {
                Interlocked.Increment(ref validations);
                return validator(token);
            }),
        });
        var token = LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddHours(1));
        var callbacks = new List<SqlAuthenticationParameters>();
        await using var connection = CreateConnection(server, token, callback, callbacks);

        // Act
        await OpenAsync(connection, async);
        var login = await ScalarAsync(connection, "SELECT SUSER_SNAME()", async);

        // Assert: one login with a token, over TLS, as the token's identity; the callback ran once, for Azure SQL's resource.
        Assert.Equal(Identity, login);
        Assert.Equal(1, server.Counters.Logins);
        Assert.Equal(1, server.Counters.AccessTokenLogins);
        Assert.Equal(1, validations);
        var recorded = Assert.Single(server.Logins);
        Assert.True(recorded.UsedAccessToken);
        Assert.True(recorded.Succeeded);
        Assert.Equal(Identity, recorded.UserName);
        Assert.Equal(string.Empty, recorded.Password);
        Assert.Equal(LoopbackConnectionEncryption.Tls, recorded.Encryption);
        if (callback)
        {
            var parameters = Assert.Single(callbacks);
            Assert.Equal("https://database.windows.net/", parameters.Resource);
            Assert.Equal("https://login.microsoftonline.com/common", parameters.Authority);
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Open_ValidTokenOverTds8_LogsIn(bool async, bool callback)
    {
        // Arrange: Encrypt=Strict, TLS first; PRELOGIN (and its FEDAUTHREQUIRED) travels inside TLS.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator()),
        });
        await using var connection = CreateConnection(server, LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddHours(1)), callback, [], "Encrypt=Strict");

        // Act
        await OpenAsync(connection, async);

        // Assert
        Assert.Equal(Identity, await ScalarAsync(connection, "SELECT SUSER_SNAME()", async));
        Assert.Equal(LoopbackConnectionEncryption.Tds8, Assert.Single(server.Logins).Encryption);
        Assert.Equal(1, server.Counters.AccessTokenLogins);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Open_ExpiredToken_Fails18456State233TokenIsExpired(bool async, bool callback)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator()),
        });
        var token = LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddMinutes(-5));
        await using var connection = CreateConnection(server, token, callback, []);

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => OpenAsync(connection, async));

        // Assert: Azure SQL's expired-token login error, and the token appears nowhere in it.
        Assert.Equal(18456, ex.Number);
        Assert.Equal(14, ex.Class);
        Assert.Equal(233, ex.State);
        Assert.Equal("Login failed for user '<token-identified principal>'. Token is expired.", ex.Errors[0].Message);
        Assert.DoesNotContain(token, ex.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, server.Counters.Logins);
        Assert.Equal(1, server.Counters.FailedLogins);
        var recorded = Assert.Single(server.Logins);
        Assert.True(recorded.UsedAccessToken);
        Assert.False(recorded.Succeeded);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RefusedToken_Fails18456State1(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(_ => LoopbackTokenValidation.Invalid),
        });
        await using var connection = CreateConnection(server, LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddHours(1)), callback: false, []);

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => OpenAsync(connection, async));

        // Assert
        Assert.Equal(18456, ex.Number);
        Assert.Equal(1, ex.State);
        Assert.Equal("Login failed for user '<token-identified principal>'.", ex.Errors[0].Message);
        Assert.Equal(1, server.Counters.FailedLogins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Execute_SessionTokenExpired_Fails37396UntilANewLogin(bool async)
    {
        // Arrange: a pooled connection logged in with a token.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator()),
        });
        var token = LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddHours(1));
        await using var connection = CreateConnection(server, token, callback: false, []);
        await OpenAsync(connection, async);
        Assert.Equal(1, await ScalarAsync(connection, "SELECT 1", async));

        // Act
        var expired = server.Faults.ExpireSessionTokens();
        var first = await Assert.ThrowsAsync<SqlException>(() => ScalarAsync(connection, "SELECT 1", async));
        var second = await Assert.ThrowsAsync<SqlException>(() => ScalarAsync(connection, "SELECT 1", async));

        // Assert: Azure SQL's mid-session error on every request; the connection stays open (class 14), the session is the same.
        Assert.Equal(1, expired);
        Assert.Equal(37396, first.Number);
        Assert.Equal(14, first.Class);
        Assert.Equal("Query cannot be executed, access token is expired. Please login with a new access token and execute query again.", first.Errors[0].Message);
        Assert.Equal(37396, second.Number);
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(2, server.Counters.ExpiredTokenRequests);
        Assert.Equal(1, server.Counters.Logins);

        // A new login (the pool cleared) recovers.
        SqlConnection.ClearPool(connection);
        await using var fresh = CreateConnection(server, token, callback: false, []);
        await OpenAsync(fresh, async);
        Assert.Equal(1, await ScalarAsync(fresh, "SELECT 1", async));
        Assert.Equal(2, server.Counters.AccessTokenLogins);
        Assert.Equal(2, server.Counters.ExpiredTokenRequests);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task Open_SqlAuthentication_FollowsAllowSqlAuthentication(bool allow, bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator()) { AllowSqlAuthentication = allow },
        });
        await using var connection = new SqlConnection(server.ConnectionString);

        // Act
        var open = OpenAsync(connection, async);

        // Assert
        if (allow)
        {
            await open;
            Assert.Equal(LoopbackSqlServerOptions.DefaultUserName, await ScalarAsync(connection, "SELECT SUSER_SNAME()", async));
            Assert.Equal(0, server.Counters.AccessTokenLogins);
        }
        else
        {
            var ex = await Assert.ThrowsAsync<SqlException>(() => open);
            Assert.Equal(18456, ex.Number);
            Assert.Equal(1, server.Counters.FailedLogins);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_CallbackCannotReachIdentityProvider_FailsOnTheClientWithNothingSentToTheServer(bool async)
    {
        // Arrange: the identity provider is unreachable, so the callback fails: a client-side failure the server never sees.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator()),
        });
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { Pooling = false };
        builder.Remove("User ID");
        builder.Remove("Password");
        await using var connection = new SqlConnection(builder.ConnectionString)
        {
            AccessTokenCallback = (_, _) => throw new HttpRequestException("The identity endpoint could not be reached."),
        };

        // Act
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => OpenAsync(connection, async));

        // Assert: SqlClient wraps the callback's failure, differently per version; the server received FEDAUTH's request
        // (and answered FEDAUTHINFO) but never a token, so it counts no login.
        var sqlException = Assert.IsType<SqlException>(ex);
        Assert.Equal(0, sqlException.Number);
        if (typeof(SqlConnection).Assembly.GetName().Version!.Major >= 7)
        {
            // 7.x: class 11, the callback's exception only as text in the message, no inner exception.
            Assert.Equal(11, sqlException.Class);
            Assert.StartsWith("Failed to authenticate the user  in Active Directory (Authentication=NotSpecified).", sqlException.Message, StringComparison.Ordinal);
            Assert.Contains("provider threw unexpected exception System.Net.Http.HttpRequestException: The identity endpoint could not be reached.", sqlException.Message, StringComparison.Ordinal);
            Assert.Null(sqlException.InnerException);
        }
        else
        {
            // 6.1: class 20, the callback's message, the callback's exception inside.
            Assert.Equal(20, sqlException.Class);
            Assert.Equal("The identity endpoint could not be reached.", sqlException.Message);
            Assert.IsType<HttpRequestException>(sqlException.InnerException);
        }

        Assert.Equal(0, server.Counters.Logins);
        Assert.Equal(0, server.Counters.FailedLogins);
        Assert.Empty(server.Logins);
    }

    [Fact]
    public async Task Open_TokenToServerWithoutFederatedAuthentication_Fails18456()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = CreateConnection(server, LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddHours(1)), callback: false, []);

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(connection.OpenAsync);

        // Assert
        Assert.Equal(18456, ex.Number);
        Assert.Equal(0, server.Counters.AccessTokenLogins);
    }

    /// <summary>A connection without user name and password (SqlClient refuses AccessToken beside them), with the token as
    /// <c>AccessToken</c> or returned by <c>AccessTokenCallback</c>.</summary>
    private static SqlConnection CreateConnection(LoopbackSqlServer server, string token, bool callback, List<SqlAuthenticationParameters> calls, string extra = "")
    {
        var builder = new SqlConnectionStringBuilder(server.ConnectionString + ";" + extra);
        builder.Remove("User ID");
        builder.Remove("Password");
        var connection = new SqlConnection(builder.ConnectionString);
        if (callback)
        {
            connection.AccessTokenCallback = (parameters, _) =>
            {
                lock (calls)
                {
                    calls.Add(parameters);
                }

                return Task.FromResult(new SqlAuthenticationToken(token, DateTimeOffset.UtcNow.AddHours(1)));
            };
        }
        else
        {
            connection.AccessToken = token;
        }

        return connection;
    }
}
