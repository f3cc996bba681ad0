using SafeSql.Shared.Tds;
using SafeSql.Testing.Tds;

namespace SafeSql.Testing.Tests;

/// <summary>The TDS codec of src/Shared/Tds, which the loopback server, the safesql tool and SafeSql's outage probe all compile.</summary>
public sealed class TdsCodecTests
{
    [Fact]
    public void BuildPacket_ProbeOptions_WritesThePacketByteForByte()
    {
        // Arrange: the outage probe's PRELOGIN as MS-TDS 2.2.6.5 lays it out.
        byte[] expected =
        [
            0x12, 0x01, 0x00, 26, 0x00, 0x00, 0x01, 0x00, // header: PRELOGIN, EOM, length 26, SPID 0, packet 1, window 0
            0x00, 0x00, 11, 0x00, 6, // VERSION at 11, 6 bytes
            0x01, 0x00, 17, 0x00, 1, // ENCRYPTION at 17, 1 byte
            0xFF, // terminator
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // version
            0x02, // ENCRYPT_NOT_SUP
        ];

        // Act
        var packet = PreLoginPayload.BuildPacket(
            new(PreLoginPayload.OptionVersion, new byte[6]),
            new(PreLoginPayload.OptionEncryption, [PreLoginPayload.EncryptNotSupported]));

        // Assert
        Assert.Equal(expected, packet);
    }

    [Fact]
    public void BuildPacket_SqlClientOptions_ReadBackOptionByOption()
    {
        // Arrange
        byte[] version = [0x10, 0x00, 0x00, 0x00, 0x00, 0x00];
        byte[] threadId = [0x01, 0x02, 0x03, 0x04];

        // Act
        var packet = PreLoginPayload.BuildPacket(
            new(PreLoginPayload.OptionVersion, version),
            new(PreLoginPayload.OptionEncryption, [PreLoginPayload.EncryptOn]),
            new(PreLoginPayload.OptionInstance, [0x00]),
            new(PreLoginPayload.OptionThreadId, threadId),
            new(PreLoginPayload.OptionMars, [0x00]));
        var payload = packet.AsSpan(TdsConstants.HeaderLength);

        // Assert
        Assert.Equal(packet.Length, TdsPacketHeader.ReadLength(packet));
        Assert.True(TdsPacketHeader.IsEndOfMessage(packet));
        Assert.True(PreLoginPayload.TryReadOption(payload, PreLoginPayload.OptionVersion, out var read));
        Assert.Equal(version, read.ToArray());
        Assert.True(PreLoginPayload.TryReadOption(payload, PreLoginPayload.OptionThreadId, out read));
        Assert.Equal(threadId, read.ToArray());
        Assert.Equal(PreLoginPayload.EncryptOn, PreLogin.ReadClientEncryption(payload));
        Assert.False(PreLoginPayload.TryReadOption(payload, 0x05, out _)); // TRACEID: not sent
    }

    [Fact]
    public void TryReadOption_EntryPointingPastThePayload_ReadsNoFurther()
    {
        // Arrange: VERSION claims 200 bytes at offset 11 of a 17-byte payload; ENCRYPTION follows it in the table.
        byte[] payload = [0x00, 0x00, 11, 0x00, 200, 0x01, 0x00, 16, 0x00, 1, 0xFF, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01];

        // Act
        var found = PreLoginPayload.TryReadOption(payload, PreLoginPayload.OptionEncryption, out _);

        // Assert
        Assert.False(found);
        Assert.Equal(-1, PreLogin.ReadClientEncryption(payload));
    }

    [Fact]
    public void ReadLength_ShorterThanTheHeader_ThrowsInvalidData()
    {
        // Arrange
        byte[] header = [0x04, 0x01, 0x00, 0x07, 0x00, 0x00, 0x01, 0x00];

        // Act
        var ex = Assert.Throws<InvalidDataException>(() => TdsPacketHeader.ReadLength(header));

        // Assert
        Assert.Equal("Invalid TDS packet length 7 (type 0x04).", ex.Message);
    }

    [Fact]
    public async Task TlsOverTdsStream_FlightsWrittenByOneSide_FramedInPreLoginPacketsAndReadBackByTheOther()
    {
        // Arrange: two handshake flights, the first larger than one 4,096-byte packet, then a TLS record after the handshake.
        var first = Enumerable.Range(0, 9000).Select(i => (byte)i).ToArray();
        byte[] second = [1, 2, 3];
        byte[] record = [0x17, 0x03, 0x03];
        using var wire = new MemoryStream();
        await using (var writer = new TlsOverTdsStream(wire, wrapInPreLogin: true))
        {
            // Act
            await writer.WriteAsync(first);
            await writer.WriteAsync(second);
            writer.FinishHandshake();
            await writer.WriteAsync(record);
        }

        // Assert: PRELOGIN packets of at most 4,096 bytes, numbered from 1 in each flight, EOM on the last of each.
        var bytes = wire.ToArray();
        var headers = new List<(byte Type, byte Status, int Length, byte Id)>();
        var position = 0;
        for (var flight = 0; flight < 2; flight++)
        {
            while (true)
            {
                var header = bytes.AsSpan(position, TdsConstants.HeaderLength);
                headers.Add((header[0], header[1], TdsPacketHeader.ReadLength(header), header[6]));
                position += TdsPacketHeader.ReadLength(header);
                if (TdsPacketHeader.IsEndOfMessage(header))
                {
                    break;
                }
            }
        }

        Assert.Equal(
            [(0x12, 0x00, 4096, 1), (0x12, 0x00, 4096, 2), (0x12, 0x01, 9000 - (2 * 4088) + 8, 3), (0x12, 0x01, 3 + 8, 1)],
            headers);
        Assert.Equal(record, bytes[position..]);

        wire.Position = 0;
        await using var reader = new TlsOverTdsStream(wire, wrapInPreLogin: true);
        var handshake = new byte[first.Length + second.Length];
        await reader.ReadExactlyAsync(handshake);
        Assert.Equal([.. first, .. second], handshake);
        reader.FinishHandshake();
        var raw = new byte[record.Length];
        await reader.ReadExactlyAsync(raw);
        Assert.Equal(record, raw);
        Assert.Equal(0, await reader.ReadAsync(new byte[1]));
    }
}
