using System.Buffers.Binary;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>Reads the first call of an RPC message (MS-TDS 2.2.6.6; SqlClient v2.1.4 TdsParser.TdsExecuteRPC): procedure
/// name or well-known id, option flags and parameters with their TYPE_INFO and values.</summary>
internal static class RpcParser
{
    private static readonly string[] s_procedureNames =
        [string.Empty, "sp_cursor", "sp_cursoropen", "sp_cursorprepare", "sp_cursorexecute", "sp_cursorprepexec", "sp_cursorunprepare",
         "sp_cursorfetch", "sp_cursoroption", "sp_cursorclose", "sp_executesql", "sp_prepare", "sp_execute", "sp_prepexec",
         "sp_prepexecrpc", "sp_unprepare"];

    /// <exception cref="InvalidDataException">The message is truncated or uses a type this server does not decode.</exception>
    public static RpcCall Parse(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        SkipAllHeaders(ref reader);
        var nameLength = reader.ReadUInt16();
        string procedure;
        if (nameLength == 0xFFFF)
        {
            var id = reader.ReadUInt16();
            procedure = id < s_procedureNames.Length ? s_procedureNames[id] : $"#proc{id}";
        }
        else
        {
            procedure = reader.ReadUtf16(nameLength);
        }

        reader.ReadUInt16(); // option flags
        var parameters = new List<(string Name, object? Value, TdsColumn Column, bool Output)>();
        while (!reader.IsEmpty && reader.PeekByte() is not (0xFF or 0x80 or 0xFE))
        {
            var name = reader.ReadUtf16(reader.ReadByte());
            var status = reader.ReadByte();
            var (column, value) = ReadTypedValue(ref reader, name);
            parameters.Add((name, value, column, (status & 0x01) != 0));
        }

        return new RpcCall(procedure, parameters);
    }

    /// <summary>Skips ALL_HEADERS (present in every TDS 7.2+ batch, RPC and transaction-manager request).</summary>
    public static void SkipAllHeaders(ref SpanReader reader)
    {
        if (reader.Remaining >= 4)
        {
            var total = BinaryPrimitives.ReadUInt32LittleEndian(reader.Rest);
            if (total >= 4 && total <= reader.Remaining)
            {
                reader.Skip((int)total);
            }
        }
    }

    private static (TdsColumn Column, object? Value) ReadTypedValue(ref SpanReader reader, string name)
    {
        var type = reader.ReadByte();
        switch (type)
        {
            case TdsConstants.TypeIntN:
            {
                var size = reader.ReadByte();
                var len = reader.ReadByte();
                var kind = size switch { 1 => TdsColumnKind.TinyInt, 2 => TdsColumnKind.SmallInt, 8 => TdsColumnKind.BigInt, _ => TdsColumnKind.Int };
                if (len == 0)
                {
                    return (new TdsColumn(name, kind, true), null);
                }

                var integer = ReadInteger(ref reader, len);
                object boxed = len switch { 1 => (byte)integer, 2 => (short)integer, 4 => (int)integer, _ => integer };
                return (new TdsColumn(name, kind, true), boxed);
            }

            case TdsConstants.TypeInt1:
                return (new TdsColumn(name, TdsColumnKind.TinyInt, true), reader.ReadByte());
            case TdsConstants.TypeInt2:
                return (new TdsColumn(name, TdsColumnKind.SmallInt, true), (short)reader.ReadUInt16());
            case TdsConstants.TypeInt4:
                return (new TdsColumn(name, TdsColumnKind.Int, true), (int)reader.ReadUInt32());
            case TdsConstants.TypeInt8:
                return (new TdsColumn(name, TdsColumnKind.BigInt, true), (long)reader.ReadUInt64());
            case TdsConstants.TypeBit:
                return (new TdsColumn(name, TdsColumnKind.Bit, true), reader.ReadByte() != 0);
            case TdsConstants.TypeBitN:
            {
                reader.ReadByte();
                var len = reader.ReadByte();
                return (new TdsColumn(name, TdsColumnKind.Bit, true), len == 0 ? null : reader.ReadByte() != 0);
            }

            case TdsConstants.TypeFloatN:
            {
                var size = reader.ReadByte();
                var len = reader.ReadByte();
                var column = new TdsColumn(name, size == 4 ? TdsColumnKind.Real : TdsColumnKind.Float, true);
                if (len == 0)
                {
                    return (column, null);
                }

                return len == 4
                    ? (column, BitConverter.Int32BitsToSingle((int)reader.ReadUInt32()))
                    : (column, BitConverter.Int64BitsToDouble((long)reader.ReadUInt64()));
            }

            case TdsConstants.TypeFloat8:
                return (new TdsColumn(name, TdsColumnKind.Float, true), BitConverter.Int64BitsToDouble((long)reader.ReadUInt64()));
            case TdsConstants.TypeFloat4:
                return (new TdsColumn(name, TdsColumnKind.Real, true), BitConverter.Int32BitsToSingle((int)reader.ReadUInt32()));
            case TdsConstants.TypeDecimalN:
            case TdsConstants.TypeNumericN:
            {
                reader.ReadByte(); // size
                reader.ReadByte(); // precision
                var scale = reader.ReadByte();
                var len = reader.ReadByte();
                var column = new TdsColumn(name, TdsColumnKind.Decimal, true, scale: scale);
                if (len == 0)
                {
                    return (column, null);
                }

                var positive = reader.ReadByte() == 1;
                var magnitude = new System.Numerics.BigInteger(reader.ReadBytes(len - 1), isUnsigned: true, isBigEndian: false);
                var value = (decimal)magnitude / (decimal)System.Numerics.BigInteger.Pow(10, scale);
                return (column, positive ? value : -value);
            }

            case TdsConstants.TypeMoneyN:
            {
                var size = reader.ReadByte();
                var len = reader.ReadByte();
                var column = new TdsColumn(name, TdsColumnKind.Decimal, true, scale: 4);
                if (len == 0)
                {
                    return (column, null);
                }

                long raw = len == 4 ? (int)reader.ReadUInt32() : ((long)(int)reader.ReadUInt32() << 32) | reader.ReadUInt32();
                _ = size;
                return (column, raw / 10000m);
            }

            case TdsConstants.TypeGuid:
            {
                reader.ReadByte();
                var len = reader.ReadByte();
                return (new TdsColumn(name, TdsColumnKind.UniqueIdentifier, true), len == 0 ? null : new Guid(reader.ReadBytes(16)));
            }

            case TdsConstants.TypeDateN:
            {
                var len = reader.ReadByte();
                return (new TdsColumn(name, TdsColumnKind.Date, true), len == 0 ? null : DateOnly.FromDayNumber(ReadDays(ref reader)));
            }

            case TdsConstants.TypeTimeN:
            {
                var scale = reader.ReadByte();
                var len = reader.ReadByte();
                return (new TdsColumn(name, TdsColumnKind.Time, true, scale: scale), len == 0 ? null : ReadTime(ref reader, len, scale));
            }

            case TdsConstants.TypeDateTime2N:
            {
                var scale = reader.ReadByte();
                var len = reader.ReadByte();
                var column = new TdsColumn(name, TdsColumnKind.DateTime2, true, scale: scale);
                if (len == 0)
                {
                    return (column, null);
                }

                var time = ReadTime(ref reader, len - 3, scale);
                return (column, DateTime.MinValue.AddDays(ReadDays(ref reader)) + time);
            }

            case TdsConstants.TypeDateTimeOffsetN:
            {
                var scale = reader.ReadByte();
                var len = reader.ReadByte();
                var column = new TdsColumn(name, TdsColumnKind.DateTimeOffset, true, scale: scale);
                if (len == 0)
                {
                    return (column, null);
                }

                var time = ReadTime(ref reader, len - 5, scale);
                var utc = DateTime.MinValue.AddDays(ReadDays(ref reader)) + time;
                var offset = TimeSpan.FromMinutes((short)reader.ReadUInt16());
                return (column, new DateTimeOffset(utc + offset, offset));
            }

            case TdsConstants.TypeDateTimeN:
            {
                reader.ReadByte();
                var len = reader.ReadByte();
                var column = new TdsColumn(name, TdsColumnKind.DateTime2, true, scale: 3);
                if (len == 0)
                {
                    return (column, null);
                }

                if (len == 4)
                {
                    var days = reader.ReadUInt16();
                    var minutes = reader.ReadUInt16();
                    return (column, new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Unspecified).AddDays(days).AddMinutes(minutes));
                }

                var d = (int)reader.ReadUInt32();
                var ticks300 = reader.ReadUInt32();
                return (column, new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Unspecified).AddDays(d).AddTicks((long)(ticks300 * (TimeSpan.TicksPerSecond / 300.0))));
            }

            case TdsConstants.TypeNVarChar:
            case TdsConstants.TypeNChar:
            case TdsConstants.TypeBigVarChar:
            case TdsConstants.TypeBigChar:
            case TdsConstants.TypeBigVarBinary:
            case TdsConstants.TypeBigBinary:
            {
                var maxLength = reader.ReadUInt16();
                var isText = type is TdsConstants.TypeNVarChar or TdsConstants.TypeNChar or TdsConstants.TypeBigVarChar or TdsConstants.TypeBigChar;
                if (isText)
                {
                    reader.Skip(5); // collation
                }

                var bytes = maxLength == 0xFFFF ? ReadPlp(ref reader) : ReadShortLength(ref reader);
                return Decode(name, type, bytes, maxLength == 0xFFFF ? -1 : maxLength);
            }

            case TdsConstants.TypeNText:
            case TdsConstants.TypeText:
            case TdsConstants.TypeImage:
            {
                reader.ReadUInt32(); // max length
                if (type != TdsConstants.TypeImage)
                {
                    reader.Skip(5);
                }

                var len = (int)reader.ReadUInt32();
                var bytes = len == -1 ? null : reader.ReadBytes(len);
                var mapped = type switch { TdsConstants.TypeNText => TdsConstants.TypeNVarChar, TdsConstants.TypeText => TdsConstants.TypeBigVarChar, _ => TdsConstants.TypeBigVarBinary };
                return Decode(name, mapped, bytes, -1);
            }

            case TdsConstants.TypeXml:
            {
                if (reader.ReadByte() != 0)
                {
                    reader.Skip(reader.ReadByte() * 2);
                    reader.Skip(reader.ReadByte() * 2);
                    reader.Skip(reader.ReadUInt16() * 2);
                }

                return Decode(name, TdsConstants.TypeNVarChar, ReadPlp(ref reader), -1);
            }

            default:
                throw new InvalidDataException($"RPC parameter '{name}' has TDS type 0x{type:X2}, which the loopback server does not decode.");
        }
    }

    private static (TdsColumn, object?) Decode(string name, byte type, byte[]? bytes, int maxBytes)
    {
        switch (type)
        {
            case TdsConstants.TypeNVarChar:
            case TdsConstants.TypeNChar:
                return (new TdsColumn(name, TdsColumnKind.NVarChar, true, maxBytes < 0 ? -1 : Math.Max(1, maxBytes / 2)), bytes is null ? null : Encoding.Unicode.GetString(bytes));
            case TdsConstants.TypeBigVarChar:
            case TdsConstants.TypeBigChar:
                return (new TdsColumn(name, TdsColumnKind.VarChar, true, maxBytes < 0 ? -1 : Math.Max(1, maxBytes)), bytes is null ? null : TdsValues.Ansi.GetString(bytes));
            default:
                return (new TdsColumn(name, TdsColumnKind.VarBinary, true, maxBytes < 0 ? -1 : Math.Max(1, maxBytes)), bytes);
        }
    }

    private static byte[]? ReadShortLength(ref SpanReader reader)
    {
        var len = reader.ReadUInt16();
        return len == 0xFFFF ? null : reader.ReadBytes(len);
    }

    private static byte[]? ReadPlp(ref SpanReader reader)
    {
        var total = reader.ReadUInt64();
        if (total == ulong.MaxValue)
        {
            return null;
        }

        using var buffer = new MemoryStream(total == ulong.MaxValue - 1 ? 256 : (int)Math.Min(total, 1 << 20));
        while (true)
        {
            var chunk = (int)reader.ReadUInt32();
            if (chunk == 0)
            {
                return buffer.ToArray();
            }

            buffer.Write(reader.ReadSpan(chunk));
        }
    }

    private static long ReadInteger(ref SpanReader reader, byte len) => len switch
    {
        1 => reader.ReadByte(),
        2 => (short)reader.ReadUInt16(),
        4 => (int)reader.ReadUInt32(),
        8 => (long)reader.ReadUInt64(),
        _ => throw new InvalidDataException($"Invalid INTN length {len}."),
    };

    private static int ReadDays(ref SpanReader reader)
    {
        var b = reader.ReadSpan(3);
        return b[0] | (b[1] << 8) | (b[2] << 16);
    }

    private static TimeSpan ReadTime(ref SpanReader reader, int length, byte scale)
    {
        var b = reader.ReadSpan(length);
        long units = 0;
        for (var i = length - 1; i >= 0; i--)
        {
            units = (units << 8) | b[i];
        }

        for (var i = scale; i < 7; i++)
        {
            units *= 10;
        }

        return TimeSpan.FromTicks(units);
    }
}
