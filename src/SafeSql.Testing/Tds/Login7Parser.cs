using System.Buffers.Binary;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>Reads the fields of a LOGIN7 payload (MS-TDS 2.2.6.4; SqlClient v2.1.4 TdsParser.TdsLogin).</summary>
internal static class Login7Parser
{
    private const int FixedLength = 94;

    /// <exception cref="InvalidDataException">The payload is shorter than the fixed part or an offset points outside it.</exception>
    public static Login7Data Parse(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < FixedLength)
        {
            throw new InvalidDataException($"LOGIN7 payload of {payload.Length} bytes is shorter than the {FixedLength}-byte fixed part.");
        }

        return new Login7Data
        {
            TdsVersion = BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]),
            PacketSize = BinaryPrimitives.ReadInt32LittleEndian(payload[8..]),
            ClientProcessId = BinaryPrimitives.ReadInt32LittleEndian(payload[16..]),
            HostName = ReadString(payload, 36),
            UserName = ReadString(payload, 40),
            Password = ReadPassword(payload, 44),
            ApplicationName = ReadString(payload, 48),
            ServerName = ReadString(payload, 52),
            ClientInterfaceName = ReadString(payload, 60),
            Language = ReadString(payload, 64),
            Database = ReadString(payload, 68),
            IntegratedSecurity = (payload[25] & 0x80) != 0,
            ReadOnlyIntent = (payload[26] & 0x20) != 0,
        };
    }

    private static (int Offset, int Chars) ReadRange(ReadOnlySpan<byte> payload, int at)
    {
        int offset = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]);
        int chars = BinaryPrimitives.ReadUInt16LittleEndian(payload[(at + 2)..]);
        if (chars > 0 && offset + (2 * chars) > payload.Length)
        {
            throw new InvalidDataException($"LOGIN7 field at offset {at} points outside the {payload.Length}-byte payload.");
        }

        return (offset, chars);
    }

    private static string ReadString(ReadOnlySpan<byte> payload, int at)
    {
        var (offset, chars) = ReadRange(payload, at);
        return chars == 0 ? string.Empty : Encoding.Unicode.GetString(payload.Slice(offset, 2 * chars));
    }

    private static string ReadPassword(ReadOnlySpan<byte> payload, int at)
    {
        var (offset, chars) = ReadRange(payload, at);
        if (chars == 0)
        {
            return string.Empty;
        }

        // The client swaps the nibbles of each byte then XORs with 0xA5; undo it in reverse order.
        Span<byte> bytes = 2 * chars <= 512 ? stackalloc byte[2 * chars] : new byte[2 * chars];
        payload.Slice(offset, 2 * chars).CopyTo(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = (byte)(bytes[i] ^ 0xA5);
            bytes[i] = (byte)((b << 4) | (b >> 4));
        }

        return Encoding.Unicode.GetString(bytes);
    }
}
