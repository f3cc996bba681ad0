namespace SafeSql.Shared.Tds;

/// <summary>TDS 7.4 constants (MS-TDS; SqlClient v2.1.4 TdsEnums.cs): the packet header, packet types and status bits
/// every TDS client and server needs, then the tokens and data types the loopback server writes.</summary>
internal static class TdsConstants
{
    public const int HeaderLength = 8;
    public const int DefaultPacketSize = 4096;
    public const int MinPacketSize = 512;
    public const int MaxPacketSize = 32767;

    // Packet types (MS-TDS 2.2.3.1.1).
    public const byte PacketSqlBatch = 0x01;
    public const byte PacketRpc = 0x03;
    public const byte PacketReply = 0x04;
    public const byte PacketAttention = 0x06;
    public const byte PacketBulkLoad = 0x07;
    public const byte PacketTransactionManager = 0x0E;
    public const byte PacketLogin7 = 0x10;
    public const byte PacketSspi = 0x11;
    public const byte PacketPreLogin = 0x12;

    // Packet status bits (MS-TDS 2.2.3.1.2).
    public const byte StatusEndOfMessage = 0x01;
    public const byte StatusIgnore = 0x02;
    public const byte StatusResetConnection = 0x08;
    public const byte StatusResetConnectionSkipTransaction = 0x10;

    // Tokens.
    public const byte TokenReturnStatus = 0x79;
    public const byte TokenColMetadata = 0x81;
    public const byte TokenError = 0xAA;
    public const byte TokenInfo = 0xAB;
    public const byte TokenLoginAck = 0xAD;
    public const byte TokenRow = 0xD1;
    public const byte TokenEnvChange = 0xE3;
    public const byte TokenDone = 0xFD;
    public const byte TokenDoneProc = 0xFE;
    public const byte TokenDoneInProc = 0xFF;

    // DONE status bits.
    public const ushort DoneFinal = 0x00;
    public const ushort DoneMore = 0x01;
    public const ushort DoneError = 0x02;
    public const ushort DoneCount = 0x10;
    public const ushort DoneAttention = 0x20;
    public const ushort DoneServerError = 0x100;

    // DONE CurCmd values SqlClient knows.
    public const ushort CurCmdSelect = 0xC1;

    // ENVCHANGE types.
    public const byte EnvDatabase = 1;
    public const byte EnvLanguage = 2;
    public const byte EnvPacketSize = 4;
    public const byte EnvCollation = 7;
    public const byte EnvBeginTransaction = 8;
    public const byte EnvCommitTransaction = 9;
    public const byte EnvRollbackTransaction = 10;
    public const byte EnvResetConnectionAck = 18;

    /// <summary>The TDS version the server acknowledges: 7.4 (0x74000004), written big-endian in LOGINACK.</summary>
    public const uint TdsVersion74 = 0x74000004;

    /// <summary>SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 with flags 0x00D0, sort id 52 (code page 1252).</summary>
    public static ReadOnlySpan<byte> DefaultCollation => [0x09, 0x04, 0xD0, 0x00, 0x34];

    // Data types (MS-TDS 2.2.5.4).
    public const byte TypeNull = 0x1F;
    public const byte TypeInt1 = 0x30;
    public const byte TypeBit = 0x32;
    public const byte TypeInt2 = 0x34;
    public const byte TypeInt4 = 0x38;
    public const byte TypeDateTime4 = 0x3A;
    public const byte TypeFloat4 = 0x3B;
    public const byte TypeMoney = 0x3C;
    public const byte TypeDateTime = 0x3D;
    public const byte TypeFloat8 = 0x3E;
    public const byte TypeMoney4 = 0x7A;
    public const byte TypeInt8 = 0x7F;
    public const byte TypeGuid = 0x24;
    public const byte TypeIntN = 0x26;
    public const byte TypeDecimal = 0x37;
    public const byte TypeNumeric = 0x3F;
    public const byte TypeBitN = 0x68;
    public const byte TypeDecimalN = 0x6A;
    public const byte TypeNumericN = 0x6C;
    public const byte TypeFloatN = 0x6D;
    public const byte TypeMoneyN = 0x6E;
    public const byte TypeDateTimeN = 0x6F;
    public const byte TypeDateN = 0x28;
    public const byte TypeTimeN = 0x29;
    public const byte TypeDateTime2N = 0x2A;
    public const byte TypeDateTimeOffsetN = 0x2B;
    public const byte TypeBigVarBinary = 0xA5;
    public const byte TypeBigVarChar = 0xA7;
    public const byte TypeBigBinary = 0xAD;
    public const byte TypeBigChar = 0xAF;
    public const byte TypeNVarChar = 0xE7;
    public const byte TypeNChar = 0xEF;
    public const byte TypeXml = 0xF1;
    public const byte TypeText = 0x23;
    public const byte TypeImage = 0x22;
    public const byte TypeNText = 0x63;
    public const byte TypeSqlVariant = 0x62;
    public const byte TypeUdt = 0xF0;
    public const byte TypeTvp = 0xF3;
}
