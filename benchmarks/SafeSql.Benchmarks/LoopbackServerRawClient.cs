using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace SafeSql.Benchmarks;

/// <summary>
/// A minimal, allocation-free TDS client for measuring the loopback server alone: PRELOGIN, LOGIN7 with SQL credentials,
/// then a pre-built SQLBatch "SELECT 1" sent and its reply read to the end-of-message packet.
/// </summary>
internal sealed class LoopbackServerRawClient : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _receive = new byte[64 * 1024];
    private readonly byte[] _batch = BuildBatch("SELECT 1");

    public static async Task<LoopbackServerRawClient> ConnectAsync(IPEndPoint endPoint, string user, string password)
    {
        var client = new LoopbackServerRawClient();
        await client._socket.ConnectAsync(endPoint);
        await client.SendAsync(Packet(0x12, [0xFF]));
        await client.ReadMessageAsync();
        await client.SendAsync(Packet(0x10, BuildLogin7(user, password)));
        await client.ReadMessageAsync();
        return client;
    }

    /// <summary>Sends "SELECT 1" and reads the reply; returns the reply's length in bytes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> SelectOneAsync()
    {
        await SendAsync(_batch);
        return await ReadMessageAsync();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private static byte[] BuildBatch(string sql)
    {
        var text = Encoding.Unicode.GetBytes(sql);
        var payload = new byte[22 + text.Length];
        BinaryPrimitives.WriteInt32LittleEndian(payload, 22);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), 18);
        BinaryPrimitives.WriteInt16LittleEndian(payload.AsSpan(8), 2);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(18), 1);
        text.CopyTo(payload, 22);
        return Packet(0x01, payload);
    }

    private static byte[] BuildLogin7(string user, string password)
    {
        var userBytes = Encoding.Unicode.GetBytes(user);
        var passwordBytes = Encoding.Unicode.GetBytes(password);
        for (var i = 0; i < passwordBytes.Length; i++)
        {
            var b = passwordBytes[i];
            passwordBytes[i] = (byte)(((b << 4) | (b >> 4)) ^ 0xA5);
        }

        var login = new byte[94 + userBytes.Length + passwordBytes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(login, login.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(login.AsSpan(4), 0x74000004);
        BinaryPrimitives.WriteInt32LittleEndian(login.AsSpan(8), 8000);
        for (var field = 36; field <= 86; field += 4)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(login.AsSpan(field), (ushort)login.Length);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(login.AsSpan(40), 94);
        BinaryPrimitives.WriteUInt16LittleEndian(login.AsSpan(42), (ushort)user.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(login.AsSpan(44), (ushort)(94 + userBytes.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(login.AsSpan(46), (ushort)password.Length);
        login.AsSpan(72, 6).Clear();
        userBytes.CopyTo(login, 94);
        passwordBytes.CopyTo(login, 94 + userBytes.Length);
        return login;
    }

    private static byte[] Packet(byte type, byte[] payload)
    {
        var packet = new byte[8 + payload.Length];
        packet[0] = type;
        packet[1] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[6] = 1;
        payload.CopyTo(packet, 8);
        return packet;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[await _socket.SendAsync(data, SocketFlags.None)..];
        }
    }

    /// <summary>Reads packets until one has the EOM bit; assumes a reply fits the receive buffer (true for SELECT 1 and login).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadMessageAsync()
    {
        var filled = 0;
        var start = 0;
        while (true)
        {
            while (filled - start < 8 || filled - start < BinaryPrimitives.ReadUInt16BigEndian(_receive.AsSpan(start + 2)))
            {
                var n = await _socket.ReceiveAsync(_receive.AsMemory(filled), SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("The loopback server closed the connection.");
                }

                filled += n;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(_receive.AsSpan(start + 2));
            var endOfMessage = (_receive[start + 1] & 0x01) != 0;
            start += length;
            if (endOfMessage)
            {
                return start;
            }
        }
    }
}
