using System.Buffers;
using System.Runtime.CompilerServices;

namespace SafeSql.Testing.Tds;

/// <summary>
/// Reads client packets from the connection's current transport (the socket's stream, or the TLS stream once TLS is on)
/// through one receive buffer and reassembles them into messages (consecutive packets up to the one with the EOM bit; only
/// that bit is tested, because SqlClient sets 0x04 on non-final packets). Counts TDS bytes, before TLS decryption.
/// </summary>
internal sealed class TdsReader : IDisposable
{
    private const int ReceiveBufferSize = 16 * 1024;

    private readonly Action<int> _onReceived;
    private byte[] _receive;
    private int _start;
    private int _end;
    private byte[] _message;

    public TdsReader(Stream stream, Action<int> onReceived)
    {
        Stream = stream;
        _onReceived = onReceived;
        _receive = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        _message = ArrayPool<byte>.Shared.Rent(8192);
    }

    /// <summary>Gets or sets the transport read from. Switch it only between messages, when nothing is buffered
    /// (<see cref="HasBufferedBytes"/>): the client sends nothing while it waits for the reply that precedes a switch.</summary>
    public Stream Stream { get; set; }

    /// <summary>Gets whether bytes past the last message were already received.</summary>
    public bool HasBufferedBytes => _end > _start;

    /// <summary>Reads the next whole message.</summary>
    /// <returns>The message, or <see langword="null"/> when the client closed the connection cleanly between messages.</returns>
    /// <exception cref="InvalidDataException">The client sent a malformed packet header or closed mid-message.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TdsMessage?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        var first = true;
        byte type = 0;
        byte firstStatus = 0;
        while (true)
        {
            if (!await FillAsync(TdsConstants.HeaderLength, cancellationToken).ConfigureAwait(false))
            {
                if (first && _end == _start)
                {
                    return null;
                }

                throw new InvalidDataException("The client closed the connection in the middle of a TDS message.");
            }

            var header = _receive.AsSpan(_start, TdsConstants.HeaderLength);
            var packetType = header[0];
            var status = header[1];
            var packetLength = TdsPacketHeader.ReadLength(header);

            if (!await FillAsync(packetLength, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidDataException("The client closed the connection in the middle of a TDS packet.");
            }

            if (first)
            {
                type = packetType;
                firstStatus = status;
                first = false;
            }

            var payloadLength = packetLength - TdsConstants.HeaderLength;
            EnsureMessageCapacity(length + payloadLength);
            _receive.AsSpan(_start + TdsConstants.HeaderLength, payloadLength).CopyTo(_message.AsSpan(length));
            length += payloadLength;
            _start += packetLength;

            if ((status & TdsConstants.StatusEndOfMessage) != 0)
            {
                var ignored = (status & TdsConstants.StatusIgnore) != 0;
                return new TdsMessage(type, firstStatus, _message.AsMemory(0, length), ignored);
            }
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_receive);
        ArrayPool<byte>.Shared.Return(_message);
        _receive = [];
        _message = [];
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FillAsync(int needed, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_end - _start >= needed)
        {
            return true;
        }

        if (_start > 0)
        {
            _receive.AsSpan(_start, _end - _start).CopyTo(_receive);
            _end -= _start;
            _start = 0;
        }

        if (needed > _receive.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(needed);
            _receive.AsSpan(0, _end).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_receive);
            _receive = bigger;
        }

        while (_end < needed)
        {
            // No token: closing the socket (Close, Abort, dispose) ends a pending receive, and a token registration would
            // allocate on every read.
            var n = await Stream.ReadAsync(_receive.AsMemory(_end), CancellationToken.None).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            _end += n;
            _onReceived(n);
        }

        return true;
    }

    private void EnsureMessageCapacity(int size)
    {
        if (size <= _message.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(size, _message.Length * 2));
        _message.AsSpan().CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_message);
        _message = bigger;
    }
}
