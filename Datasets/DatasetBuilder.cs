using System.Text.Json;
using System.Threading.Channels;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>What a shard holds once its run ends: clips encoded and failed, counting parts written by earlier runs.</summary>
public sealed record ShardResult(int Encoded, int Failed, int PartsWritten, int PartsSkipped);

/// <summary>
/// Encodes one shard of a manifest into Parquet parts. Each part (<see cref="DatasetSettings.PartSize"/> clips)
/// is written under a temporary name and renamed, then marked done by its record; a part already marked is
/// skipped, so a shard killed mid-way and run again carries on where it stopped. Clips are read and resampled on
/// a background task while the codec encodes earlier ones, in batches of clips of equal length; a clip longer than
/// <see cref="WholeSeconds"/> is read and coded a piece at a time, alone.
/// </summary>
public sealed class DatasetBuilder(Manifest manifest, DatasetSettings settings, DatasetLayout layout, ClipSource source, AudioCodec codec, int batchSize)
{
    /// <summary>
    /// The longest clip read whole and batched: MusicGen's 30 s window, three times MusicCaps' clips. A longer one
    /// (a whole recording) goes through the codec's streaming encoder, so that memory stays bounded at any length.
    /// </summary>
    public const double WholeSeconds = 30;

    /// <summary>Checks that earlier runs into the same folder used the same settings, and records them otherwise.</summary>
    public static void Claim(DatasetLayout layout, DatasetSettings settings)
    {
        Directory.CreateDirectory(layout.Parts);
        if (DatasetSettings.Load(layout.Settings) is { } existing)
        {
            var before = JsonSerializer.SerializeToElement(existing);
            var now = JsonSerializer.SerializeToElement(settings);
            var differences = now.EnumerateObject()
                .Where(p => p.Value.GetRawText() != before.GetProperty(p.Name).GetRawText())
                .Select(p => $"{p.Name} {before.GetProperty(p.Name).GetRawText()} then, {p.Value.GetRawText()} now")
                .ToArray();
            if (differences.Length > 0)
                throw new MusicGenException($"{layout.Root} holds parts made with other settings ({string.Join("; ", differences)}); use a new --out folder or the same manifest and options");
            return;
        }
        JsonFile.Write(layout.Settings, settings);
    }

    /// <summary>Clips of the parts this run has to encode (those not marked done).</summary>
    public int RemainingClips(Shard shard) => PendingParts(shard).Sum(p => Size(settings.PartRange(shard, p)));

    public ShardResult Run(Shard shard, Action<int>? clipDone = null, Action<ClipFailure>? failed = null)
    {
        Directory.CreateDirectory(layout.ShardFolder(shard));
        var pending = PendingParts(shard);
        var ranges = pending.Select(p => settings.PartRange(shard, p)).ToArray();
        var loaded = Channel.CreateBounded<LoadedClip>(2 * batchSize);
        using var cancel = new CancellationTokenSource();
        var reader = Task.Run(() => ReadClips(ranges, loaded.Writer, cancel.Token));
        try
        {
            int done = 0;
            for (int i = 0; i < pending.Length; i++)
            {
                var record = EncodePart(shard, pending[i], Size(ranges[i]), loaded.Reader, () => clipDone?.Invoke(++done), failed);
                JsonFile.Write(layout.PartRecord(shard, pending[i]), record);
            }
        }
        finally
        {
            cancel.Cancel();
            try { reader.Wait(); } catch (AggregateException) { }
            while (loaded.Reader.TryRead(out var unused)) unused.Long?.Dispose();
        }
        var records = Enumerable.Range(0, settings.PartsOf(shard)).Select(p => JsonFile.Read<PartRecord>(layout.PartRecord(shard, p))).ToArray();
        return new ShardResult(records.Sum(r => r.Train.Clips + r.Test.Clips), records.Sum(r => r.Failures.Length), pending.Length, records.Length - pending.Length);
    }

    private int[] PendingParts(Shard shard) =>
        Enumerable.Range(0, settings.PartsOf(shard)).Where(p => !File.Exists(layout.PartRecord(shard, p))).ToArray();

    private static int Size((int Start, int End) range) => range.End - range.Start;

    /// <summary>A manifest entry's audio ready for the codec (whole, or a long one to read as it is coded), or why it cannot be used.</summary>
    private sealed record LoadedClip(ManifestEntry Entry, AudioClip? Clip, IAudioSource? Long, long BytesRead, string? Failure)
    {
        public double Seconds => Clip?.Seconds ?? (double)Long!.Length / Long.SampleRate;
    }

    private async Task ReadClips((int Start, int End)[] ranges, ChannelWriter<LoadedClip> writer, CancellationToken cancel)
    {
        Exception? error = null;
        try
        {
            foreach (var (start, end) in ranges)
                for (int i = start; i < end; i++)
                    await writer.WriteAsync(Load(manifest.Entries[i]), cancel);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            error = e;
        }
        finally
        {
            // An unexpected error reaches the encoding loop, which reads it from the channel.
            writer.TryComplete(error);
        }
    }

    private LoadedClip Load(ManifestEntry entry)
    {
        try
        {
            var (audio, bytes) = source.Open(entry);
            if (audio.Length > WholeSeconds * audio.SampleRate) return new LoadedClip(entry, null, audio, bytes, null);
            using (audio) return new LoadedClip(entry, new AudioClip(audio.SampleRate, audio.Read(0, (int)audio.Length)), null, bytes, null);
        }
        catch (Exception e) when (e is MusicGenException or IOException or UnauthorizedAccessException)
        {
            return new LoadedClip(entry, null, null, 0, e.Message);
        }
    }

    private PartRecord EncodePart(Shard shard, int part, int count, ChannelReader<LoadedClip> clips, Action clipDone, Action<ClipFailure>? failed)
    {
        var rows = new List<DatasetRow>(count);
        var failures = new List<ClipFailure>();
        var batch = new List<LoadedClip>(batchSize);
        long bytesRead = 0;
        for (int i = 0; i < count; i++)
        {
            var clip = clips.ReadAsync().AsTask().GetAwaiter().GetResult();
            bytesRead += clip.BytesRead;
            if (clip.Failure is not null) Fail(new ClipFailure(clip.Entry.Id, clip.Failure));
            else if (clip.Clip is not null) batch.Add(clip);
            else
            {
                // Rows stay in manifest order: the batch before it is coded first.
                EncodeBatch();
                using (clip.Long) EncodeLong(clip);
            }
            if (batch.Count == batchSize || i == count - 1) EncodeBatch();
            PausePoint.Reach("dataset-clip");
        }
        // Batches come in manifest order and keep it, so the rows are in manifest order.
        var train = rows.Where(r => DatasetSplit.Of(r.Entry.Id, settings.TestFraction) == DatasetSplit.Train).ToArray();
        var test = rows.Where(r => DatasetSplit.Of(r.Entry.Id, settings.TestFraction) == DatasetSplit.Test).ToArray();
        WriteParquet(layout.PartFile(shard, part, DatasetSplit.Train), train);
        WriteParquet(layout.PartFile(shard, part, DatasetSplit.Test), test);
        return new PartRecord(SplitStatistics.Of(train), SplitStatistics.Of(test), failures.ToArray(), bytesRead);

        void EncodeBatch()
        {
            int encoded = rows.Count;
            rows.AddRange(Encode(batch, Fail));
            for (int n = rows.Count - encoded; n > 0; n--) clipDone();
            batch.Clear();
        }

        void EncodeLong(LoadedClip clip)
        {
            try
            {
                rows.Add(ToRow(clip, codec.Encode(clip.Long!, settings.Bandwidth)));
                clipDone();
            }
            catch (MusicGenException e)
            {
                Fail(new ClipFailure(clip.Entry.Id, e.Message));
            }
        }

        void Fail(ClipFailure failure)
        {
            failures.Add(failure);
            failed?.Invoke(failure);
            clipDone();
        }
    }

    private void WriteParquet(string path, IReadOnlyList<DatasetRow> rows)
    {
        if (rows.Count == 0) return;
        var parquet = new DatasetParquet(settings.ExtraColumns, settings.MotOffset);
        AtomicFile.WriteAsync(path, stream => parquet.WriteAsync(stream, rows)).GetAwaiter().GetResult();
    }

    /// <summary>Rows of a batch, in its order; clips of the same length go through the codec together.</summary>
    private IEnumerable<DatasetRow> Encode(List<LoadedClip> batch, Action<ClipFailure> fail)
    {
        var rows = new Dictionary<LoadedClip, DatasetRow>();
        foreach (var group in batch.GroupBy(c => c.Clip!.Length))
        {
            var clips = group.ToArray();
            try
            {
                var codes = codec.EncodeBatch(clips.Select(c => c.Clip!).ToArray(), settings.Bandwidth);
                for (int i = 0; i < clips.Length; i++) rows[clips[i]] = ToRow(clips[i], codes[i]);
            }
            catch (MusicGenException e)
            {
                foreach (var clip in clips) fail(new ClipFailure(clip.Entry.Id, e.Message));
            }
        }
        return batch.Where(rows.ContainsKey).Select(c => rows[c]);
    }

    private static DatasetRow ToRow(LoadedClip clip, AudioCodes codes)
    {
        var values = new short[codes.Values.Length];
        for (int i = 0; i < values.Length; i++) values[i] = checked((short)codes.Values[i]);
        return new DatasetRow(clip.Entry, codes.Channels * codes.Codebooks, codes.Frames, values, clip.Seconds);
    }
}
