using System.Text;
using SafeSql.Testing.Tds;

namespace SafeSql.Testing.Tests;

/// <summary>The federated-authentication tokens of the loopback server, byte for byte (MS-TDS 2.2.7.11 FEATUREEXTACK, 2.2.7.12
/// FEDAUTHINFO, 2.2.6.4 FEDAUTH feature extension, 2.2.6.3 FEDAUTH message).</summary>
public sealed class FedAuthCodecTests
{
    [Fact]
    public async Task WriteFedAuthInfo_StsUrlAndSpn_OffsetsCountFromTheOptionCount()
    {
        // Arrange: "s" and "p" in UTF-16, two 9-byte options after the 4-byte count, so the data starts at offset 22.
        byte[] expected =
        [
            0xEE, 26, 0, 0, 0, // FEDAUTHINFO, TokenLength 26
            2, 0, 0, 0, // CountOfInfoIDs
            0x01, 2, 0, 0, 0, 22, 0, 0, 0, // STSURL: 2 bytes at 22
            0x02, 2, 0, 0, 0, 24, 0, 0, 0, // SPN: 2 bytes at 24
            (byte)'s', 0, (byte)'p', 0,
        ];

        // Act
        var payload = await PayloadAsync(writer => FedAuth.WriteFedAuthInfo(writer, "s", "p"));

        // Assert
        Assert.Equal(expected, payload);
    }

    [Fact]
    public async Task WriteFeatureExtAck_FedAuth_HasNoData()
    {
        Assert.Equal([0xAE, 0x02, 0, 0, 0, 0, 0xFF], await PayloadAsync(FedAuth.WriteFeatureExtAck));
    }

    [Fact]
    public void ReadFeature_SecurityTokenWithEcho_ReadsTheToken()
    {
        // Arrange: options = library 0x01 << 1 | echo 1, then the token's byte length and the token in UTF-16.
        var token = Encoding.Unicode.GetBytes("abc");
        byte[] data = [0x03, (byte)token.Length, 0, 0, 0, .. token];

        // Act
        var feature = FedAuth.ReadFeature(data);

        // Assert
        Assert.Equal(FedAuth.LibrarySecurityToken, feature.Library);
        Assert.True(feature.Echo);
        Assert.Equal("abc", feature.Token);
    }

    [Fact]
    public void ReadFeature_MsalWorkflow_HasNoToken()
    {
        var feature = FedAuth.ReadFeature([0x04, 0x03]); // library 0x02 << 1, no echo; workflow 0x03 (SqlClient's token credential)

        Assert.Equal(FedAuth.LibraryMsal, feature.Library);
        Assert.False(feature.Echo);
        Assert.Equal(0x03, feature.Workflow);
        Assert.Null(feature.Token);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x02, 0x01 })]
    [InlineData(new byte[] { 0x02, 0x08, 0, 0, 0, 0x61, 0 })]
    public void ReadFeature_Truncated_Throws(byte[] data)
    {
        Assert.Throws<InvalidDataException>(() => FedAuth.ReadFeature(data));
    }

    [Fact]
    public void ReadTokenMessage_LengthsThenToken_SkipsTheTotalLength()
    {
        var token = Encoding.Unicode.GetBytes("xyz");
        byte[] payload = [(byte)(token.Length + 4), 0, 0, 0, (byte)token.Length, 0, 0, 0, .. token];

        Assert.Equal("xyz", FedAuth.ReadTokenMessage(payload));
    }

    private static async Task<byte[]> PayloadAsync(Action<TdsWriter> write)
    {
        using var writer = new TdsWriter(4096);
        write(writer);
        using var stream = new MemoryStream();
        await writer.SendAsync(stream, endOfMessage: true, null, CancellationToken.None);
        return stream.ToArray()[8..];
    }
}
