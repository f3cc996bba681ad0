using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>Writes server tokens (MS-TDS 2.2.7) with exact length fields.</summary>
internal static class TdsTokens
{
    private static readonly DateTime s_dateZero = new(1, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);

    public static void WriteDone(TdsWriter writer, byte token, ushort status, ushort currentCommand, long rowCount)
    {
        writer.WriteByte(token);
        writer.WriteUInt16(status);
        writer.WriteUInt16(currentCommand);
        writer.WriteInt64(rowCount);
    }

    public static void WriteMessage(TdsWriter writer, bool isError, int number, byte state, byte severity, string message, string serverName, string procedureName, int lineNumber)
    {
        var messageLength = Math.Min(message.Length, ushort.MaxValue);
        var serverLength = Math.Min(serverName.Length, byte.MaxValue);
        var procLength = Math.Min(procedureName.Length, byte.MaxValue);
        writer.WriteByte(isError ? TdsConstants.TokenError : TdsConstants.TokenInfo);
        writer.WriteUInt16((ushort)(14 + (2 * (messageLength + serverLength + procLength))));
        writer.WriteInt32(number);
        writer.WriteByte(state);
        writer.WriteByte(severity);
        writer.WriteUsVarChar(message);
        writer.WriteBVarChar(serverName);
        writer.WriteBVarChar(procedureName);
        writer.WriteInt32(lineNumber);
    }

    public static void WriteEnvChange(TdsWriter writer, byte type, string newValue, string oldValue)
    {
        writer.WriteByte(TdsConstants.TokenEnvChange);
        writer.WriteUInt16((ushort)(3 + (2 * (newValue.Length + oldValue.Length))));
        writer.WriteByte(type);
        writer.WriteBVarChar(newValue);
        writer.WriteBVarChar(oldValue);
    }

    public static void WriteCollationEnvChange(TdsWriter writer)
    {
        writer.WriteByte(TdsConstants.TokenEnvChange);
        writer.WriteUInt16(8);
        writer.WriteByte(TdsConstants.EnvCollation);
        writer.WriteByte(5);
        writer.WriteBytes(TdsConstants.DefaultCollation);
        writer.WriteByte(0);
    }

    /// <summary>ENVCHANGE 8/9/10: a transaction began (new = descriptor) or ended (old = descriptor).</summary>
    public static void WriteTransactionEnvChange(TdsWriter writer, byte type, long descriptor)
    {
        writer.WriteByte(TdsConstants.TokenEnvChange);
        writer.WriteUInt16(11);
        writer.WriteByte(type);
        if (type == TdsConstants.EnvBeginTransaction)
        {
            writer.WriteByte(8);
            writer.WriteInt64(descriptor);
            writer.WriteByte(0);
        }
        else
        {
            writer.WriteByte(0);
            writer.WriteByte(8);
            writer.WriteInt64(descriptor);
        }
    }

    public static void WriteLoginAck(TdsWriter writer, string programName, Version version)
    {
        writer.WriteByte(TdsConstants.TokenLoginAck);
        writer.WriteUInt16((ushort)(10 + (2 * programName.Length)));
        writer.WriteByte(1); // interface: T-SQL
        Span<byte> tdsVersion = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tdsVersion, TdsConstants.TdsVersion74);
        writer.WriteBytes(tdsVersion);
        writer.WriteBVarChar(programName);
        writer.WriteByte((byte)version.Major);
        writer.WriteByte((byte)version.Minor);
        var build = Math.Max(version.Build, 0);
        writer.WriteByte((byte)(build >> 8));
        writer.WriteByte((byte)build);
    }

    public static void WriteReturnStatus(TdsWriter writer, int status)
    {
        writer.WriteByte(TdsConstants.TokenReturnStatus);
        writer.WriteInt32(status);
    }

    public static void WriteColMetadata(TdsWriter writer, IReadOnlyList<TdsColumn> columns)
    {
        writer.WriteByte(TdsConstants.TokenColMetadata);
        writer.WriteUInt16((ushort)columns.Count);
        for (var c = 0; c < columns.Count; c++)
        {
            var column = columns[c];
            writer.WriteUInt32(0); // UserType
            writer.WriteUInt16(column.Nullable ? (ushort)0x0001 : (ushort)0x0000);
            WriteTypeInfo(writer, column);
            writer.WriteBVarChar(column.Name);
        }
    }

    public static void WriteRow(TdsWriter writer, IReadOnlyList<TdsColumn> columns, IReadOnlyList<object?> values)
    {
        writer.WriteByte(TdsConstants.TokenRow);
        for (var i = 0; i < columns.Count; i++)
        {
            var value = i < values.Count ? values[i] : null;
            if (value is DBNull)
            {
                value = null;
            }

            WriteValue(writer, columns[i], value);
        }
    }

    private static void WriteTypeInfo(TdsWriter writer, TdsColumn column)
    {
        var n = column.Nullable;
        switch (column.Kind)
        {
            case TdsColumnKind.Int:
                WriteFixedOrN(writer, n, TdsConstants.TypeInt4, TdsConstants.TypeIntN, 4);
                break;
            case TdsColumnKind.BigInt:
                WriteFixedOrN(writer, n, TdsConstants.TypeInt8, TdsConstants.TypeIntN, 8);
                break;
            case TdsColumnKind.SmallInt:
                WriteFixedOrN(writer, n, TdsConstants.TypeInt2, TdsConstants.TypeIntN, 2);
                break;
            case TdsColumnKind.TinyInt:
                WriteFixedOrN(writer, n, TdsConstants.TypeInt1, TdsConstants.TypeIntN, 1);
                break;
            case TdsColumnKind.Bit:
                WriteFixedOrN(writer, n, TdsConstants.TypeBit, TdsConstants.TypeBitN, 1);
                break;
            case TdsColumnKind.Float:
                WriteFixedOrN(writer, n, TdsConstants.TypeFloat8, TdsConstants.TypeFloatN, 8);
                break;
            case TdsColumnKind.Real:
                WriteFixedOrN(writer, n, TdsConstants.TypeFloat4, TdsConstants.TypeFloatN, 4);
                break;
            case TdsColumnKind.Decimal:
                writer.WriteByte(TdsConstants.TypeDecimalN);
                writer.WriteByte(17);
                writer.WriteByte(38);
                writer.WriteByte(column.Scale);
                break;
            case TdsColumnKind.NVarChar:
                writer.WriteByte(TdsConstants.TypeNVarChar);
                writer.WriteUInt16(column.IsPlp ? ushort.MaxValue : (ushort)Math.Max(2, column.MaxLength * 2));
                writer.WriteBytes(TdsConstants.DefaultCollation);
                break;
            case TdsColumnKind.VarChar:
                writer.WriteByte(TdsConstants.TypeBigVarChar);
                writer.WriteUInt16(column.IsPlp ? ushort.MaxValue : (ushort)Math.Max(1, column.MaxLength));
                writer.WriteBytes(TdsConstants.DefaultCollation);
                break;
            case TdsColumnKind.VarBinary:
                writer.WriteByte(TdsConstants.TypeBigVarBinary);
                writer.WriteUInt16(column.IsPlp ? ushort.MaxValue : (ushort)Math.Max(1, column.MaxLength));
                break;
            case TdsColumnKind.DateTime2:
                writer.WriteByte(TdsConstants.TypeDateTime2N);
                writer.WriteByte(column.Scale);
                break;
            case TdsColumnKind.Date:
                writer.WriteByte(TdsConstants.TypeDateN);
                break;
            case TdsColumnKind.Time:
                writer.WriteByte(TdsConstants.TypeTimeN);
                writer.WriteByte(column.Scale);
                break;
            case TdsColumnKind.DateTimeOffset:
                writer.WriteByte(TdsConstants.TypeDateTimeOffsetN);
                writer.WriteByte(column.Scale);
                break;
            case TdsColumnKind.UniqueIdentifier:
                writer.WriteByte(TdsConstants.TypeGuid);
                writer.WriteByte(16);
                break;
            default:
                throw new InvalidOperationException($"Unsupported column kind {column.Kind}.");
        }
    }

    private static void WriteFixedOrN(TdsWriter writer, bool nullable, byte fixedType, byte nullableType, byte size)
    {
        if (nullable)
        {
            writer.WriteByte(nullableType);
            writer.WriteByte(size);
        }
        else
        {
            writer.WriteByte(fixedType);
        }
    }

    private static void WriteValue(TdsWriter writer, TdsColumn column, object? value)
    {
        var n = column.Nullable;
        if (value is null && !n)
        {
            throw new InvalidOperationException($"Column '{column.Name}' is NOT NULL but the row has no value.");
        }

        var culture = CultureInfo.InvariantCulture;
        switch (column.Kind)
        {
            case TdsColumnKind.Int:
                if (WriteNullOrLength(writer, n, value, 4))
                {
                    writer.WriteInt32(Convert.ToInt32(value, culture));
                }

                break;
            case TdsColumnKind.BigInt:
                if (WriteNullOrLength(writer, n, value, 8))
                {
                    writer.WriteInt64(Convert.ToInt64(value, culture));
                }

                break;
            case TdsColumnKind.SmallInt:
                if (WriteNullOrLength(writer, n, value, 2))
                {
                    writer.WriteUInt16((ushort)Convert.ToInt16(value, culture));
                }

                break;
            case TdsColumnKind.TinyInt:
                if (WriteNullOrLength(writer, n, value, 1))
                {
                    writer.WriteByte(Convert.ToByte(value, culture));
                }

                break;
            case TdsColumnKind.Bit:
                if (WriteNullOrLength(writer, n, value, 1))
                {
                    writer.WriteByte(Convert.ToBoolean(value, culture) ? (byte)1 : (byte)0);
                }

                break;
            case TdsColumnKind.Float:
                if (WriteNullOrLength(writer, n, value, 8))
                {
                    writer.WriteInt64(BitConverter.DoubleToInt64Bits(Convert.ToDouble(value, culture)));
                }

                break;
            case TdsColumnKind.Real:
                if (WriteNullOrLength(writer, n, value, 4))
                {
                    writer.WriteInt32(BitConverter.SingleToInt32Bits(Convert.ToSingle(value, culture)));
                }

                break;
            case TdsColumnKind.Decimal:
                if (WriteNullOrLength(writer, true, value, 17))
                {
                    WriteDecimal(writer, Convert.ToDecimal(value, culture), column.Scale);
                }

                break;
            case TdsColumnKind.NVarChar:
                WriteString(writer, column, value is null ? null : Convert.ToString(value, culture), unicode: true);
                break;
            case TdsColumnKind.VarChar:
                WriteString(writer, column, value is null ? null : Convert.ToString(value, culture), unicode: false);
                break;
            case TdsColumnKind.VarBinary:
                WriteBinary(writer, column, (byte[]?)value);
                break;
            case TdsColumnKind.DateTime2:
                if (WriteNullOrLength(writer, true, value, (byte)(TimeLength(column.Scale) + 3)))
                {
                    var dateTime = value is DateTimeOffset dto ? dto.DateTime : Convert.ToDateTime(value, culture);
                    WriteTime(writer, dateTime.TimeOfDay, column.Scale);
                    WriteDate(writer, dateTime);
                }

                break;
            case TdsColumnKind.Date:
                if (WriteNullOrLength(writer, true, value, 3))
                {
                    WriteDate(writer, value is DateOnly d ? d.ToDateTime(TimeOnly.MinValue) : Convert.ToDateTime(value, culture));
                }

                break;
            case TdsColumnKind.Time:
                if (WriteNullOrLength(writer, true, value, TimeLength(column.Scale)))
                {
                    WriteTime(writer, value is TimeOnly t ? t.ToTimeSpan() : (TimeSpan)value!, column.Scale);
                }

                break;
            case TdsColumnKind.DateTimeOffset:
                if (WriteNullOrLength(writer, true, value, (byte)(TimeLength(column.Scale) + 5)))
                {
                    var dto = value is DateTimeOffset o ? o : new DateTimeOffset(Convert.ToDateTime(value, culture), TimeSpan.Zero);
                    var utc = dto.UtcDateTime;
                    WriteTime(writer, utc.TimeOfDay, column.Scale);
                    WriteDate(writer, utc);
                    writer.WriteUInt16((ushort)(short)dto.Offset.TotalMinutes);
                }

                break;
            case TdsColumnKind.UniqueIdentifier:
                if (WriteNullOrLength(writer, true, value, 16))
                {
                    Span<byte> bytes = stackalloc byte[16];
                    var guid = value is Guid g ? g : Guid.Parse(Convert.ToString(value, culture)!);
                    guid.TryWriteBytes(bytes);
                    writer.WriteBytes(bytes);
                }

                break;
            default:
                throw new InvalidOperationException($"Unsupported column kind {column.Kind}.");
        }
    }

    /// <summary>For N-types writes the length byte (0 for NULL); returns whether the value bytes must follow.</summary>
    private static bool WriteNullOrLength(TdsWriter writer, bool nullable, object? value, byte length)
    {
        if (!nullable)
        {
            return true;
        }

        if (value is null)
        {
            writer.WriteByte(0);
            return false;
        }

        writer.WriteByte(length);
        return true;
    }

    private static void WriteString(TdsWriter writer, TdsColumn column, string? value, bool unicode)
    {
        byte[]? bytes = null;
        if (value is not null)
        {
            bytes = unicode ? Encoding.Unicode.GetBytes(value) : TdsValues.Ansi.GetBytes(value);
        }

        WriteBinary(writer, column, bytes);
    }

    private static void WriteBinary(TdsWriter writer, TdsColumn column, byte[]? bytes)
    {
        if (column.IsPlp)
        {
            if (bytes is null)
            {
                writer.WriteInt64(-1);
                return;
            }

            writer.WriteInt64(bytes.Length);
            if (bytes.Length > 0)
            {
                writer.WriteInt32(bytes.Length);
                writer.WriteBytes(bytes);
            }

            writer.WriteInt32(0);
            return;
        }

        if (bytes is null)
        {
            writer.WriteUInt16(ushort.MaxValue);
            return;
        }

        writer.WriteUInt16((ushort)bytes.Length);
        writer.WriteBytes(bytes);
    }

    private static void WriteDecimal(TdsWriter writer, decimal value, byte scale)
    {
        var scaled = decimal.Round(value, Math.Min((int)scale, 28), MidpointRounding.AwayFromZero);
        var bits = decimal.GetBits(scaled);
        var currentScale = (bits[3] >> 16) & 0xFF;
        var magnitude = new System.Numerics.BigInteger(new decimal(bits[0], bits[1], bits[2], false, 0));
        magnitude *= System.Numerics.BigInteger.Pow(10, Math.Max(0, scale - currentScale));
        writer.WriteByte(value < 0 ? (byte)0 : (byte)1);
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        magnitude.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        writer.WriteBytes(bytes);
    }

    private static byte TimeLength(byte scale) => scale <= 2 ? (byte)3 : scale <= 4 ? (byte)4 : (byte)5;

    private static void WriteTime(TdsWriter writer, TimeSpan time, byte scale)
    {
        var units = time.Ticks;
        for (var i = 7; i > scale; i--)
        {
            units /= 10;
        }

        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, units);
        writer.WriteBytes(bytes[..TimeLength(scale)]);
    }

    private static void WriteDate(TdsWriter writer, DateTime date)
    {
        var days = (int)(date.Date - s_dateZero).TotalDays;
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, days);
        writer.WriteBytes(bytes[..3]);
    }
}
