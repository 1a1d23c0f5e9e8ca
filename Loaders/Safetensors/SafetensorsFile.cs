using System.Buffers;
using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MusicGen.Loaders.Safetensors;

/// <summary>
/// A safetensors file: an 8-byte little-endian header length, a JSON header naming every tensor with its dtype,
/// shape and byte offsets, then the raw little-endian data. Tensors are read one at a time with positional reads,
/// so a multi-gigabyte file is never copied as a whole; reads fill a fresh array several times faster than faulting
/// a memory mapping in page by page, and a file that shrinks while it is read is an error rather than a SIGBUS.
/// Every structural defect is reported when the file is opened, with the file and the tensor named.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;
    /// <summary>
    /// The most tensors one file may list: musicgen-large has about 1,500 in all. Each entry costs memory while the
    /// header is read, so a hostile header of a million tiny entries is refused once it passes this count.
    /// </summary>
    private const int MaxTensors = 1 << 16;
    /// <summary>Elements converted per read when a tensor is stored in another type than the one asked for.</summary>
    private const int ConversionChunk = 1 << 16;

    private readonly SafeFileHandle _handle;
    private readonly long _dataStart;
    private readonly Dictionary<string, TensorEntry> _tensors;

    public string Path { get; }
    public IReadOnlyDictionary<string, TensorEntry> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(string path, SafeFileHandle handle, long dataStart, Dictionary<string, TensorEntry> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        _dataStart = dataStart;
        _tensors = tensors;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        var handle = InputFile.OpenHandle(path);
        try
        {
            var (dataStart, tensors, metadata) = ReadHeader(path, handle);
            return new SafetensorsFile(path, handle, dataStart, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static (long, Dictionary<string, TensorEntry>, Dictionary<string, string>) ReadHeader(string path, SafeFileHandle handle)
    {
        // The opened handle's length, not FileInfo's: in a Hugging Face cache the path is a symlink to a blob.
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new MusicGenException($"{path}: truncated safetensors file ({fileLength} bytes, shorter than the 8-byte header length)");

        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(handle, path, lengthBytes, 0);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new MusicGenException($"{path}: header length {headerLength} reaches beyond the end of the file ({fileLength} bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw new MusicGenException($"{path}: header length {headerLength} is implausibly large; the file is not safetensors");

        var headerBytes = new byte[headerLength];
        ReadExactly(handle, path, headerBytes, 8);
        long dataStart = 8 + (long)headerLength;
        var (tensors, metadata) = ParseHeader(path, headerBytes, fileLength - dataStart);
        return (dataStart, tensors, metadata);
    }

    /// <summary>
    /// The header's entries, read one at a time (a document per entry, never one for the whole header), and checked
    /// as the reference checks them: the tensors tile the data section, each starting where the one before ends.
    /// </summary>
    private static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ParseHeader(
        string path, byte[] headerBytes, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(headerBytes)) throw new MusicGenException($"{path}: the header: not valid JSON (the text is not valid UTF-8)");
        var tensors = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(headerBytes, new JsonReaderOptions { AllowTrailingCommas = true });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new MusicGenException($"{path}: the header is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                using var value = JsonDocument.ParseValue(ref reader);
                if (name == "__metadata__")
                {
                    if (value.RootElement.ValueKind == JsonValueKind.Object)
                        foreach (var item in value.RootElement.EnumerateObject())
                            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
                    continue;
                }
                if (tensors.ContainsKey(name))
                    throw new MusicGenException($"{path}: tensor '{name}' appears twice in the header");
                if (tensors.Count == MaxTensors)
                    throw new MusicGenException($"{path}: the header lists more than {MaxTensors} tensors, more than any checkpoint file holds; the file is corrupt");
                tensors[name] = ParseEntry(path, name, value.RootElement, dataLength);
            }
            while (reader.Read()) { } // the rest must be the object's end and whitespace, or the reader throws
        }
        catch (JsonException e)
        {
            throw new MusicGenException($"{path}: the header: not valid JSON ({e.Message})");
        }
        RequireTiled(path, tensors.Values, dataLength);
        return (tensors, metadata);
    }

    /// <summary>
    /// The tensors must cover the data section without gaps, overlaps or bytes left over, as the reference's
    /// validation demands: a file that does not is corrupt, and reading it would hand out shifted bytes.
    /// </summary>
    private static void RequireTiled(string path, IEnumerable<TensorEntry> tensors, long dataLength)
    {
        long end = 0;
        foreach (var entry in tensors.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (entry.Begin != end)
                throw new MusicGenException($"{path}: tensor '{entry.Name}' starts at byte {entry.Begin} of the data section, but the tensors before it end at byte {end} "
                    + $"({(entry.Begin > end ? "a gap" : "an overlap")}); the file is corrupt");
            end = entry.End;
        }
        if (end != dataLength)
            throw new MusicGenException($"{path}: the data section holds {dataLength - end} byte(s) after the last tensor; the file is corrupt");
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
        long expectedBytes;
        try
        {
            expectedBytes = checked(entry.ElementCount * SafetensorsDTypes.SizeOf(dtype));
        }
        catch (OverflowException)
        {
            throw new MusicGenException($"{Where()}: shape {ShapeText.Format(shape)} has more elements than any file can hold");
        }
        if (expectedBytes != entry.ByteCount)
            throw new MusicGenException($"{Where()}: {dtype} {ShapeText.Format(shape)} needs {expectedBytes} bytes but its offsets span {entry.ByteCount}");
        return entry;
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorEntry Entry(string name) =>
        _tensors.TryGetValue(name, out var entry) ? entry : throw new MusicGenException($"{Path}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor.</summary>
    public byte[] Bytes(TensorEntry entry)
    {
        if (entry.ByteCount > Array.MaxLength)
            throw new MusicGenException($"{Path}: tensor '{entry.Name}' is larger than 2 GB, which this reader does not support");
        var bytes = HugePages.NewArray<byte>((int)entry.ByteCount);
        ReadExactly(_handle, Path, bytes, _dataStart + entry.Begin);
        return bytes;
    }

    /// <summary>The raw bytes of a tensor into <paramref name="destination"/>, exactly as long.</summary>
    public void Read(TensorEntry entry, Span<byte> destination)
    {
        if (destination.Length != entry.ByteCount)
            throw new ArgumentException($"{destination.Length} bytes for tensor '{entry.Name}' of {entry.ByteCount}");
        ReadExactly(_handle, Path, destination, _dataStart + entry.Begin);
    }

    /// <summary>A tensor converted to float32, whatever floating-point type it is stored in.</summary>
    public float[] ReadFloat32(string name)
    {
        var entry = Entry(name);
        var result = HugePages.NewArray<float>(ElementsOf(entry));
        if (entry.DType == SafetensorsDType.F32) ReadExactly(_handle, Path, MemoryMarshal.AsBytes(result.AsSpan()), _dataStart + entry.Begin);
        else ReadConverted(entry, result, (bytes, chunk) => ElementConversion.ToFloat32(bytes, entry.DType, chunk, () => $"{Path}: tensor '{name}'"));
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
        long start = _dataStart + entry.Begin + firstElement * size;
        if (entry.DType == SafetensorsDType.F32)
        {
            ReadExactly(_handle, Path, MemoryMarshal.AsBytes(destination), start);
            return;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ConversionChunk * size);
        try
        {
            for (int done = 0; done < destination.Length; done += ConversionChunk)
            {
                int count = Math.Min(ConversionChunk, destination.Length - done);
                var stored = buffer.AsSpan(0, count * size);
                ReadExactly(_handle, Path, stored, start + (long)done * size);
                ElementConversion.ToFloat32(stored, entry.DType, destination.Slice(done, count), () => $"{Path}: tensor '{entry.Name}'");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A tensor converted to int64, whatever integer type it is stored in.</summary>
    public long[] ReadInt64(string name)
    {
        var entry = Entry(name);
        var result = new long[ElementsOf(entry)];
        ReadConverted(entry, result, (bytes, chunk) => ElementConversion.ToInt64(bytes, entry.DType, chunk, () => $"{Path}: tensor '{name}'"));
        return result;
    }

    private int ElementsOf(TensorEntry entry) => entry.ElementCount <= Array.MaxLength
        ? (int)entry.ElementCount
        : throw new MusicGenException($"{Path}: tensor '{entry.Name}' has {entry.ElementCount} elements, more than this reader supports");

    private delegate void ChunkConversion<T>(ReadOnlySpan<byte> stored, Span<T> destination);

    /// <summary>Reads a tensor a chunk at a time through a small buffer, converting each chunk into <paramref name="destination"/>.</summary>
    private void ReadConverted<T>(TensorEntry entry, Span<T> destination, ChunkConversion<T> convert)
    {
        int size = SafetensorsDTypes.SizeOf(entry.DType);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ConversionChunk * size);
        try
        {
            for (int start = 0; start < destination.Length; start += ConversionChunk)
            {
                int count = Math.Min(ConversionChunk, destination.Length - start);
                var stored = buffer.AsSpan(0, count * size);
                ReadExactly(_handle, Path, stored, _dataStart + entry.Begin + (long)start * size);
                convert(stored, destination.Slice(start, count));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void ReadExactly(SafeFileHandle handle, string path, Span<byte> destination, long offset)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(handle, destination, offset);
            if (read == 0) throw new MusicGenException($"{path}: the file ends before byte {offset + destination.Length}; it was truncated while open");
            destination = destination[read..];
            offset += read;
        }
    }

    public void Dispose() => _handle.Dispose();
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
