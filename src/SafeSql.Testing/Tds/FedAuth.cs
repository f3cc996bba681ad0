using System.Buffers.Binary;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>
/// Federated authentication on the wire (MS-TDS 2.2.6.4 FEDAUTH feature extension, 2.2.6.3 FEDAUTH message, 2.2.7.12
/// FEDAUTHINFO, 2.2.7.11 FEATUREEXTACK), the server's side, checked against what SqlClient writes and reads
/// (dotnet/SqlClient v6.1.6 and v7.1.0-preview2 TdsParser.WriteFedAuthFeatureRequest, SendFedAuthToken,
/// TryProcessFedAuthInfo; SqlInternalConnectionTds.OnFeatureExtAck) and tedious 19 (login7-payload.js buildFeatureExt).
/// </summary>
internal static class FedAuth
{
    /// <summary>PRELOGIN option FEDAUTHREQUIRED: one byte, 0x01 from the server when it requires the client to echo it.</summary>
    public const byte PreLoginOptionFedAuthRequired = 0x06;

    /// <summary>The packet type of the FEDAUTH message that carries a token the client acquired after FEDAUTHINFO.</summary>
    public const byte PacketFedAuthToken = 0x08;

    public const byte FeatureFedAuth = 0x02;
    public const byte FeatureTerminator = 0xFF;
    public const byte TokenFeatureExtAck = 0xAE;
    public const byte TokenFedAuthInfo = 0xEE;

    /// <summary>bFedAuthLibrary 0x01: the token travels inside LOGIN7 (SqlClient <c>AccessToken</c>, tedious
    /// <c>azure-active-directory-access-token</c>).</summary>
    public const byte LibrarySecurityToken = 0x01;

    /// <summary>bFedAuthLibrary 0x02 (MS-TDS calls it ADAL, SqlClient MSAL): the client asks for FEDAUTHINFO, acquires a token
    /// itself and sends it in a FEDAUTH message (SqlClient <c>AccessTokenCallback</c> and every <c>Authentication=Active
    /// Directory ...</c> mode).</summary>
    public const byte LibraryMsal = 0x02;

    private const byte InfoIdStsUrl = 0x01;
    private const byte InfoIdSpn = 0x02;

    /// <summary>Reads the FEDAUTH feature's data from a LOGIN7 feature extension (options byte: library in the upper 7 bits,
    /// the echo of FEDAUTHREQUIRED in bit 0; then the token, or the workflow byte).</summary>
    /// <exception cref="InvalidDataException">The data is shorter than its own lengths say.</exception>
    public static Login7FedAuth ReadFeature(ReadOnlySpan<byte> data)
    {
        if (data.Length < 1)
        {
            throw new InvalidDataException("The FEDAUTH feature extension has no options byte.");
        }

        var library = (byte)(data[0] >> 1);
        var echo = (data[0] & 0x01) != 0;
        if (library != LibrarySecurityToken)
        {
            return new Login7FedAuth(library, echo, data.Length > 1 ? data[1] : (byte)0, null);
        }

        return new Login7FedAuth(library, echo, 0, ReadToken(data[1..]));
    }

    /// <summary>Reads the token of a FEDAUTH message (packet type 0x08): total length, token length, UTF-16 token, then an
    /// optional nonce the server ignores.</summary>
    /// <exception cref="InvalidDataException">The payload is shorter than its own lengths say.</exception>
    public static string ReadTokenMessage(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            throw new InvalidDataException("The FEDAUTH message is shorter than its length field.");
        }

        return ReadToken(payload[4..]);
    }

    /// <summary>Writes FEATUREEXTACK acknowledging FEDAUTH with no data (SqlClient and tedious refuse data in the ack for the
    /// security-token and MSAL libraries).</summary>
    public static void WriteFeatureExtAck(TdsWriter writer)
    {
        writer.WriteByte(TokenFeatureExtAck);
        writer.WriteByte(FeatureFedAuth);
        writer.WriteUInt32(0);
        writer.WriteByte(FeatureTerminator);
    }

    /// <summary>Writes FEDAUTHINFO with the token endpoint (STSURL) and the resource (SPN) the client acquires a token for.
    /// Offsets count from the CountOfInfoIDs field; SqlClient requires both options.</summary>
    public static void WriteFedAuthInfo(TdsWriter writer, string stsUrl, string spn)
    {
        const int optionLength = 9;
        var sts = Encoding.Unicode.GetBytes(stsUrl);
        var resource = Encoding.Unicode.GetBytes(spn);
        var dataStart = 4 + (2 * optionLength);
        writer.WriteByte(TokenFedAuthInfo);
        writer.WriteUInt32((uint)(dataStart + sts.Length + resource.Length));
        writer.WriteUInt32(2);
        writer.WriteByte(InfoIdStsUrl);
        writer.WriteUInt32((uint)sts.Length);
        writer.WriteUInt32((uint)dataStart);
        writer.WriteByte(InfoIdSpn);
        writer.WriteUInt32((uint)resource.Length);
        writer.WriteUInt32((uint)(dataStart + sts.Length));
        writer.WriteBytes(sts);
        writer.WriteBytes(resource);
    }

    private static string ReadToken(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            throw new InvalidDataException("The federated authentication token has no length field.");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (length < 0 || length > data.Length - 4 || length % 2 != 0)
        {
            throw new InvalidDataException($"The federated authentication token's length {length} does not fit its {data.Length - 4} bytes.");
        }

        return Encoding.Unicode.GetString(data.Slice(4, length));
    }
}

/// <summary>The FEDAUTH feature extension of a LOGIN7: the library, the echo of the server's FEDAUTHREQUIRED, the workflow
/// (MSAL library) or the token (security-token library). The token is a secret: never log it (a class, not a record, so no
/// generated <c>ToString</c> prints it).</summary>
internal sealed class Login7FedAuth(byte library, bool echo, byte workflow, string? token)
{
    public byte Library { get; } = library;

    public bool Echo { get; } = echo;

    public byte Workflow { get; } = workflow;

    public string? Token { get; } = token;
}
