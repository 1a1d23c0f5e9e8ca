using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MusicGen.Loaders.Safetensors;

/// <summary>
/// A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header naming every tensor
/// with its dtype, shape and byte offsets, then the raw little-endian data. Tensors are read from the mapping
/// one at a time, so a multi-gigabyte file is never copied as a whole; float32 tensors that are copied anyway
/// are read with positional reads, which fill a fresh array several times faster than faulting the mapping in
/// page by page. Every structural defect is reported when the file is opened, with the file and the tensor named.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile? _mapping;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _data;
    private readonly SafeFileHandle? _handle;
    private readonly long _dataStart;
    private readonly Dictionary<string, TensorEntry> _tensors;
    private bool _disposed;

    public string Path { get; }
    public IReadOnlyDictionary<string, TensorEntry> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(string path, MemoryMappedFile? mapping, MemoryMappedViewAccessor? view, byte* data,
        SafeFileHandle? handle, long dataStart, Dictionary<string, TensorEntry> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _mapping = mapping;
        _view = view;
        _data = data;
        _handle = handle;
        _dataStart = dataStart;
        _tensors = tensors;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new MusicGenException($"{path}: file not found");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        // The opened stream's length, not FileInfo's: in a Hugging Face cache the path is a symlink to a blob.
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new MusicGenException($"{path}: truncated safetensors file ({fileLength} bytes, shorter than the 8-byte header length)");

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new MusicGenException($"{path}: header length {headerLength} reaches beyond the end of the file ({fileLength} bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw new MusicGenException($"{path}: header length {headerLength} is implausibly large; the file is not safetensors");

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        var (tensors, metadata) = ParseHeader(path, headerBytes, dataLength);

        if (dataLength == 0)
            return new SafetensorsFile(path, null, null, null, null, dataStart, tensors, metadata);

        var mapping = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* basePointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
        byte* data = basePointer + view.PointerOffset + dataStart;
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return new SafetensorsFile(path, mapping, view, data, handle, dataStart, tensors, metadata);
    }

    private static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ParseHeader(
        string path, byte[] headerBytes, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new MusicGenException($"{path}: the header is not valid JSON ({e.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new MusicGenException($"{path}: the header is not a JSON object");
            var tensors = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                        foreach (var item in property.Value.EnumerateObject())
                            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
                    continue;
                }
                if (tensors.ContainsKey(property.Name))
                    throw new MusicGenException($"{path}: tensor '{property.Name}' appears twice in the header");
                tensors[property.Name] = ParseEntry(path, property.Name, property.Value, dataLength);
            }
            return (tensors, metadata);
        }
    }

    private static TensorEntry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        string Where() => $"{path}: tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw new MusicGenException($"{Where()}: header entry is not an object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new MusicGenException($"{Where()}: header entry has no dtype");
        if (!SafetensorsDTypes.TryParse(dtypeElement.GetString()!, out var dtype))
            throw new MusicGenException($"{Where()}: unknown dtype '{dtypeElement.GetString()}'");
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new MusicGenException($"{Where()}: header entry has no shape");
        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new MusicGenException($"{Where()}: header entry has no data_offsets pair");

        var shape = new int[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw new MusicGenException($"{Where()}: shape {shapeElement.GetRawText()} is not a list of non-negative integers");
            i++;
        }
        var offsets = new long[2];
        i = 0;
        foreach (var o in offsetsElement.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out offsets[i]) || offsets[i] < 0)
                throw new MusicGenException($"{Where()}: data_offsets {offsetsElement.GetRawText()} are not non-negative integers");
            i++;
        }

        var entry = new TensorEntry(name, dtype, shape, offsets[0], offsets[1]);
        if (entry.End < entry.Begin || entry.End > dataLength)
            throw new MusicGenException($"{Where()}: data offsets [{entry.Begin}, {entry.End}) lie outside the data section of {dataLength} bytes; the file is truncated or corrupt");
        long expectedBytes = entry.ElementCount * SafetensorsDTypes.SizeOf(dtype);
        if (expectedBytes != entry.ByteCount)
            throw new MusicGenException($"{Where()}: {dtype} {ShapeText.Format(shape)} needs {expectedBytes} bytes but its offsets span {entry.ByteCount}");
        return entry;
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorEntry Entry(string name) =>
        _tensors.TryGetValue(name, out var entry) ? entry : throw new MusicGenException($"{Path}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor, straight from the mapping.</summary>
    public ReadOnlySpan<byte> Bytes(TensorEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (entry.ByteCount == 0) return ReadOnlySpan<byte>.Empty;
        if (entry.ByteCount > int.MaxValue)
            throw new MusicGenException($"{Path}: tensor '{entry.Name}' is larger than 2 GB, which this reader does not support");
        return new ReadOnlySpan<byte>(_data + entry.Begin, (int)entry.ByteCount);
    }

    /// <summary>A tensor converted to float32, whatever floating-point type it is stored in.</summary>
    public float[] ReadFloat32(string name)
    {
        var entry = Entry(name);
        var result = GC.AllocateUninitializedArray<float>(checked((int)entry.ElementCount));
        if (entry.DType == SafetensorsDType.F32 && _handle is not null) ReadExactly(entry, MemoryMarshal.AsBytes(result.AsSpan()));
        else ElementConversion.ToFloat32(_handle is null ? Bytes(entry) : ReadBytes(entry), entry.DType, result, () => $"{Path}: tensor '{name}'");
        return result;
    }

    /// <summary>
    /// A copy of a tensor's raw bytes, read with positional reads when the file is open for them: the mapping's
    /// pages would stay resident in this process after a load (and count in its memory) while the copy lives on.
    /// </summary>
    public byte[] ReadBytes(TensorEntry entry)
    {
        if (_handle is null) return Bytes(entry).ToArray();
        if (entry.ByteCount > int.MaxValue)
            throw new MusicGenException($"{Path}: tensor '{entry.Name}' is larger than 2 GB, which this reader does not support");
        var result = GC.AllocateUninitializedArray<byte>((int)entry.ByteCount);
        ReadExactly(entry, result);
        return result;
    }

    /// <summary>
    /// Elements [firstElement, firstElement + destination.Length) of a floating-point tensor as float32: a part of a
    /// large tensor converted without holding all of it.
    /// </summary>
    public void ReadFloat32(TensorEntry entry, long firstElement, Span<float> destination)
    {
        int size = SafetensorsDTypes.SizeOf(entry.DType);
        if (firstElement < 0 || firstElement + destination.Length > entry.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(firstElement), $"elements [{firstElement}, {firstElement + destination.Length}) of '{entry.Name}' {ShapeText.Format(entry.Shape)}");
        if (entry.DType == SafetensorsDType.F32 && _handle is not null)
        {
            ReadExactly(entry, MemoryMarshal.AsBytes(destination), firstElement * size);
            return;
        }
        int byteCount = checked(destination.Length * size);
        if (_handle is null)
        {
            ElementConversion.ToFloat32(Bytes(entry).Slice(checked((int)(firstElement * size)), byteCount), entry.DType, destination, () => $"{Path}: tensor '{entry.Name}'");
            return;
        }
        var raw = System.Buffers.ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            ReadExactly(entry, raw.AsSpan(0, byteCount), firstElement * size);
            ElementConversion.ToFloat32(raw.AsSpan(0, byteCount), entry.DType, destination, () => $"{Path}: tensor '{entry.Name}'");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private void ReadExactly(TensorEntry entry, Span<byte> destination, long byteOffset = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long offset = _dataStart + entry.Begin + byteOffset;
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(_handle!, destination, offset);
            if (read == 0) throw new MusicGenException($"{Path}: tensor '{entry.Name}' ends beyond the end of the file; the file was truncated while open");
            destination = destination[read..];
            offset += read;
        }
    }

    /// <summary>A tensor converted to int64, whatever integer type it is stored in.</summary>
    public long[] ReadInt64(string name)
    {
        var entry = Entry(name);
        var result = new long[checked((int)entry.ElementCount)];
        ElementConversion.ToInt64(Bytes(entry), entry.DType, result, () => $"{Path}: tensor '{name}'");
        return result;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _mapping?.Dispose();
        _handle?.Dispose();
    }
}

/// <summary>Conversions from stored element types to the engine's float32 and int64.</summary>
public static class ElementConversion
{
    /// <summary>bfloat16 bits of a float32, rounded to nearest even as torch casts (NaN stays NaN).</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)(bits >> 16 | 0x40);
        return (ushort)((bits + 0x7FFF + (bits >> 16 & 1)) >> 16);
    }

    public static void ToFloat32(ReadOnlySpan<byte> bytes, SafetensorsDType dtype, Span<float> destination, Func<string> where)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case SafetensorsDType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), destination);
                break;
            case SafetensorsDType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < raw.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
            case SafetensorsDType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < doubles.Length; i++) destination[i] = (float)doubles[i];
                break;
            default:
                throw new MusicGenException($"{where()}: stored as {dtype}, but a floating-point tensor is expected");
        }
    }

    public static void ToInt64(ReadOnlySpan<byte> bytes, SafetensorsDType dtype, Span<long> destination, Func<string> where)
    {
        switch (dtype)
        {
            case SafetensorsDType.I64: MemoryMarshal.Cast<byte, long>(bytes).CopyTo(destination); break;
            case SafetensorsDType.U64: Widen(MemoryMarshal.Cast<byte, ulong>(bytes), destination, v => checked((long)v)); break;
            case SafetensorsDType.I32: Widen(MemoryMarshal.Cast<byte, int>(bytes), destination, v => v); break;
            case SafetensorsDType.U32: Widen(MemoryMarshal.Cast<byte, uint>(bytes), destination, v => v); break;
            case SafetensorsDType.I16: Widen(MemoryMarshal.Cast<byte, short>(bytes), destination, v => v); break;
            case SafetensorsDType.U16: Widen(MemoryMarshal.Cast<byte, ushort>(bytes), destination, v => v); break;
            case SafetensorsDType.I8: Widen(MemoryMarshal.Cast<byte, sbyte>(bytes), destination, v => v); break;
            case SafetensorsDType.U8 or SafetensorsDType.BOOL: Widen(bytes, destination, v => v); break;
            default:
                throw new MusicGenException($"{where()}: stored as {dtype}, but an integer tensor is expected");
        }
    }

    private static void Widen<T>(ReadOnlySpan<T> source, Span<long> destination, Func<T, long> convert)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = convert(source[i]);
    }
}
