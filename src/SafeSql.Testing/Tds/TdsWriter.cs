using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>
/// Writes one server-to-client TDS message straight into packet form: every <see cref="PacketSize"/> bytes a new
/// 8-byte header is reserved, so the message is split at the negotiated packet size without a second copy.
/// One instance per session, reused for every message (the buffer comes from <see cref="ArrayPool{T}"/>).
/// </summary>
internal sealed class TdsWriter : IDisposable
{
    private byte[] _buffer;
    private int _position;
    private int _packetStart;
    private byte _packetId;

    public TdsWriter(int packetSize)
    {
        PacketSize = packetSize;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(packetSize, 8192));
        Reset();
    }

    /// <summary>Gets or sets the largest packet, header included (4096 before login, then the negotiated size).</summary>
    public int PacketSize { get; set; }

    /// <summary>Gets or sets the session id written into every header (big-endian, bytes 4-5).</summary>
    public ushort SessionId { get; set; }

    /// <summary>Gets whether no token byte was written since the last send.</summary>
    public bool IsEmpty => _packetStart == 0 && _position == TdsConstants.HeaderLength;

    /// <summary>Returns a position to <see cref="Rewind"/> to, valid until the next send.</summary>
    public (int Position, int PacketStart, byte PacketId) Mark() => (_position, _packetStart, _packetId);

    /// <summary>Drops everything written after <paramref name="mark"/>.</summary>
    public void Rewind((int Position, int PacketStart, byte PacketId) mark) => (_position, _packetStart, _packetId) = mark;

    public void Reset()
    {
        _packetStart = 0;
        _position = TdsConstants.HeaderLength;
    }

    public void WriteByte(byte value)
    {
        if (_position - _packetStart >= PacketSize)
        {
            StartNextPacket();
        }

        EnsureCapacity(1);
        _buffer[_position++] = value;
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        while (!value.IsEmpty)
        {
            var room = PacketSize - (_position - _packetStart);
            if (room <= 0)
            {
                StartNextPacket();
                continue;
            }

            var n = Math.Min(room, value.Length);
            EnsureCapacity(n);
            value[..n].CopyTo(_buffer.AsSpan(_position));
            _position += n;
            value = value[n..];
        }
    }

    public void WriteUInt16(ushort value)
    {
        Span<byte> tmp = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(tmp, value);
        WriteBytes(tmp);
    }

    public void WriteInt32(int value)
    {
        Span<byte> tmp = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(tmp, value);
        WriteBytes(tmp);
    }

    public void WriteUInt32(uint value)
    {
        Span<byte> tmp = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tmp, value);
        WriteBytes(tmp);
    }

    public void WriteInt64(long value)
    {
        Span<byte> tmp = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(tmp, value);
        WriteBytes(tmp);
    }

    /// <summary>Writes UTF-16LE characters without a length prefix.</summary>
    public void WriteUtf16(ReadOnlySpan<char> value)
    {
        var byteCount = value.Length * 2;
        var room = PacketSize - (_position - _packetStart);
        if (byteCount <= room)
        {
            EnsureCapacity(byteCount);
            Encoding.Unicode.GetBytes(value, _buffer.AsSpan(_position));
            _position += byteCount;
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            var n = Encoding.Unicode.GetBytes(value, rented);
            WriteBytes(rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Writes a B_VARCHAR: a one-byte character count then UTF-16LE (at most 255 characters).</summary>
    public void WriteBVarChar(string? value)
    {
        var span = (value ?? string.Empty).AsSpan();
        if (span.Length > byte.MaxValue)
        {
            span = span[..byte.MaxValue];
        }

        WriteByte((byte)span.Length);
        WriteUtf16(span);
    }

    /// <summary>Writes a US_VARCHAR: a two-byte character count then UTF-16LE.</summary>
    public void WriteUsVarChar(string? value)
    {
        var span = (value ?? string.Empty).AsSpan();
        if (span.Length > ushort.MaxValue)
        {
            span = span[..ushort.MaxValue];
        }

        WriteUInt16((ushort)span.Length);
        WriteUtf16(span);
    }

    /// <summary>Closes the current packet and sends everything written so far, then starts a new message if <paramref name="endOfMessage"/>.</summary>
    /// <remarks>The bytes are counted on <paramref name="counters"/> before they leave, so a client that has the reply always
    /// finds it counted.</remarks>
    /// <returns>The number of bytes sent.</returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> SendAsync(Stream stream, bool endOfMessage, LoopbackSqlServerCounters? counters, CancellationToken cancellationToken)
    {
        if (!endOfMessage && _position - _packetStart == TdsConstants.HeaderLength)
        {
            // Nothing in the current packet: send only the packets already closed.
            if (_packetStart == 0)
            {
                return 0;
            }

            var closed = _packetStart;
            counters?.OnSent(closed); // before the bytes leave, so the client never sees a reply the counter does not hold yet
            await SendAllAsync(stream, _buffer.AsMemory(0, closed), cancellationToken).ConfigureAwait(false);
            _packetStart = 0;
            _position = TdsConstants.HeaderLength;
            return closed;
        }

        WriteHeader(endOfMessage ? TdsConstants.StatusEndOfMessage : (byte)0);
        var length = _position;
        counters?.OnSent(length);
        await SendAllAsync(stream, _buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        if (endOfMessage)
        {
            _packetId = 0;
        }

        Reset();
        return length;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask SendAllAsync(Stream stream, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        // No token for the write itself: closing the socket ends a pending send, and a registration would allocate.
        cancellationToken.ThrowIfCancellationRequested();
        await stream.WriteAsync(data, CancellationToken.None).ConfigureAwait(false);
    }

    private void StartNextPacket()
    {
        WriteHeader(0);
        _packetStart = _position;
        EnsureCapacity(TdsConstants.HeaderLength);
        _position += TdsConstants.HeaderLength;
    }

    private void WriteHeader(byte status)
    {
        TdsPacketHeader.Write(_buffer.AsSpan(_packetStart), TdsConstants.PacketReply, status, _position - _packetStart, SessionId, ++_packetId);
    }

    private void EnsureCapacity(int extra)
    {
        if (_position + extra <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _position + extra));
        _buffer.AsSpan(0, _position).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
