using System.Buffers.Binary;

namespace SafeSql.Shared.Tds;

/// <summary>
/// The 8-byte TDS packet header (MS-TDS 2.2.3.1): type, status, length (big-endian, header included), SPID (big-endian),
/// packet id and window (always 0).
/// </summary>
internal static class TdsPacketHeader
{
    /// <summary>Writes a header into the first <see cref="TdsConstants.HeaderLength"/> bytes of <paramref name="packet"/>.</summary>
    /// <param name="packet">The packet; at least 8 bytes.</param>
    /// <param name="type">The packet type, such as <see cref="TdsConstants.PacketPreLogin"/>.</param>
    /// <param name="status">The status bits, such as <see cref="TdsConstants.StatusEndOfMessage"/>.</param>
    /// <param name="length">The packet's length, header included (at most 65,535).</param>
    /// <param name="spid">The server process id: 0 from a client, the session's from a server.</param>
    /// <param name="packetId">The packet's number in its message, from 1, wrapping at 255.</param>
    public static void Write(Span<byte> packet, byte type, byte status, int length, ushort spid, byte packetId)
    {
        packet[0] = type;
        packet[1] = status;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)length);
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], spid);
        packet[6] = packetId;
        packet[7] = 0;
    }

    /// <summary>Reads the packet's length, header included.</summary>
    /// <exception cref="InvalidDataException">The length is shorter than the header itself.</exception>
    public static int ReadLength(ReadOnlySpan<byte> header)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        if (length < TdsConstants.HeaderLength)
        {
            throw new InvalidDataException($"Invalid TDS packet length {length} (type 0x{header[0]:X2}).");
        }

        return length;
    }

    /// <summary>Gets whether the header's status marks the last packet of a message (only the EOM bit is tested: SqlClient
    /// sets 0x04 on non-final packets).</summary>
    public static bool IsEndOfMessage(ReadOnlySpan<byte> header) => (header[1] & TdsConstants.StatusEndOfMessage) != 0;
}
