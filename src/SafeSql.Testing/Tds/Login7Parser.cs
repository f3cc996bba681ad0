using System.Buffers.Binary;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>Reads the fields of a LOGIN7 payload (MS-TDS 2.2.6.4; SqlClient v2.1.4 TdsParser.TdsLogin).</summary>
internal static class Login7Parser
{
    private const int FixedLength = 94;

    /// <summary>OptionFlags3 fExtension: the ibExtension field points at the feature extension.</summary>
    private const byte ExtensionFlag = 0x10;

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
            FedAuth = (payload[27] & ExtensionFlag) != 0 ? ReadFedAuth(payload) : null,
        };
    }

    /// <summary>Finds the FEDAUTH feature in the feature extension: ibExtension points at a DWORD holding the offset of the
    /// block of <c>FeatureId (1) | DataLen (4) | Data</c> entries ended by 0xFF.</summary>
    private static Login7FedAuth? ReadFedAuth(ReadOnlySpan<byte> payload)
    {
        int pointer = BinaryPrimitives.ReadUInt16LittleEndian(payload[56..]);
        int pointerLength = BinaryPrimitives.ReadUInt16LittleEndian(payload[58..]);
        if (pointerLength < 4 || pointer + 4 > payload.Length)
        {
            return null;
        }

        var offset = BinaryPrimitives.ReadInt32LittleEndian(payload[pointer..]);
        while (offset >= 0 && offset < payload.Length && payload[offset] != FedAuth.FeatureTerminator)
        {
            if (offset + 5 > payload.Length)
            {
                throw new InvalidDataException("LOGIN7 feature extension entry runs past the payload.");
            }

            var id = payload[offset];
            var length = BinaryPrimitives.ReadInt32LittleEndian(payload[(offset + 1)..]);
            if (length < 0 || length > payload.Length - offset - 5)
            {
                throw new InvalidDataException($"LOGIN7 feature extension 0x{id:X2} claims {length} bytes past the payload.");
            }

            if (id == FedAuth.FeatureFedAuth)
            {
                return FedAuth.ReadFeature(payload.Slice(offset + 5, length));
            }

            offset += 5 + length;
        }

        return null;
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
