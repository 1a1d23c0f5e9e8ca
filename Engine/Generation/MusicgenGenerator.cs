using System.Diagnostics;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Tensors;
using MusicGen.Engine.Text;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Runs a <see cref="GenerationPlan"/> window by window, each window as MusicgenForConditionalGeneration.generate
/// (and its melody twin) does it: encode the prompts, condition the decoder (with the null half of
/// classifier-free guidance), start from the decoder start token and the codes of the window's prompt, decode
/// step by step in the delay pattern with the KV cache, and undo the pattern. A piece longer than one window goes
/// as audiocraft extends it (audiocraft/models/genmodel.py, BaseGenModel._generate_tokens): each window continues
/// the end of the one before, conditioned on the text of the plan's schedule at its start (the same for every window without one), and only its new frames are appended. The codes go to
/// the sink as they are complete, and the audio decoded from them.
/// </summary>
public sealed class MusicgenGenerator
{
    private readonly IBackend _backend;
    private readonly IMusicgenModel _model;
    private readonly T5Tokenizer _tokenizer;
    private readonly Lazy<ChromaFeatureExtractor>? _chroma;
    private readonly int _startTokenId;

    /// <summary>
    /// A generator over a loaded model; <paramref name="chroma"/> is the melody feature extractor a melody model's
    /// long pieces take each window's chroma from.
    /// </summary>
    public MusicgenGenerator(IBackend backend, IMusicgenModel model, T5Tokenizer tokenizer, int? decoderStartTokenId, Lazy<ChromaFeatureExtractor>? chroma = null)
    {
        _backend = backend;
        _model = model;
        _tokenizer = tokenizer;
        _chroma = chroma;
        _startTokenId = decoderStartTokenId ?? model.Config.Decoder.BosTokenId;
        var decoder = model.Config.Decoder;
        Layout = new CodebookLayout(decoder.AudioChannels, decoder.NumCodebooks / decoder.AudioChannels);
        Codec = new AudioCodec(model.AudioEncoder, Layout.Channels);
    }

    /// <summary>How the decoder's codebooks belong to the audio channels, and their delays.</summary>
    public CodebookLayout Layout { get; }

    /// <summary>The model's codec, for audio of its channels.</summary>
    public AudioCodec Codec { get; }

    /// <summary>
    /// Generates the piece the plan describes, reporting every decoding step of every window to progress;
    /// cancellation stops at the next step (throwing <see cref="OperationCanceledException"/>) and releases the
    /// cache. The sink hears each frame's codes as soon as every codebook has them (the prompt's included), and
    /// the audio as it asks for it.
    /// </summary>
    public GenerationResult Generate(GenerationPlan plan, GenerationSink sink, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var audio = new SinkAudio(sink, plan, Codec, DecodeAudio);
        using var texts = new TextEncodings(this, keepLastOnly: plan.LivePrompt is not null);
        var steps = new PieceProgress(progress, plan.IsEndless ? 0 : plan.Steps);
        var pieces = new List<CodesBatch>();
        WindowCodes? last = null;
        // The codes the next window continues, and where in the piece they start.
        var (previous, previousOffset) = (plan.PromptCodes ?? (plan.AudioPrompt is { } prompt ? Codec.Encode(prompt, Layout.CodebooksPerChannel) : null), 0);
        int w = -1;
        foreach (var window in plan.WindowsInOrder)
        {
            w++;
            var windowPrompt = w == 0 ? previous : previous!.FrameRange(window.Offset - previousOffset, window.PromptFrames); // gen_tokens[:, :, stride_tokens:]
            if (window.Steps == 0)
            {
                (previous, previousOffset) = (windowPrompt, window.Offset); // every frame is the prompt's: the reference returns it unchanged
                continue;
            }
            // The first window gives all its frames (the piece starts with the prompt, re-decoded); later ones their new frames.
            int keepFrom = w == 0 ? 0 : window.PromptFrames;
            FramesHandler onFrames = (codes, first) =>
            {
                int skip = Math.Max(0, keepFrom - first);
                if (skip >= codes.Frames) return;
                var kept = codes.FrameRange(skip, codes.Frames - skip);
                sink.OnCodes(kept, window.Offset + first + skip);
                audio.Push(kept);
            };
            var conditioning = Conditioning(plan, texts.Of(plan.PromptsAt(window)), ChromaOf(plan, window));
            last = GenerateWindow(plan, windowPrompt, window.Steps, conditioning, steps, cancellation, onFrames);
            if (!plan.IsEndless) pieces.Add(last.Codes.FrameRange(keepFrom, last.Codes.Frames - keepFrom)); // a piece without end keeps one window
            (previous, previousOffset) = (last.Codes, window.Offset);
        }
        var result = new GenerationResult(CodesBatch.Concatenate(pieces), plan.PromptFrames, last!.SequenceLength, last.DelayedIds);
        audio.Finish(result.Codes, cancellation);
        return result;
    }

    /// <summary>The codes [B, C, K', F] of one window, and its whole delayed sequence [B · K, SequenceLength].</summary>
    private sealed record WindowCodes(CodesBatch Codes, int SequenceLength, int[] DelayedIds);

    /// <summary>One window: <paramref name="steps"/> decoding steps after the codes of <paramref name="prompt"/>, if any.</summary>
    private WindowCodes GenerateWindow(GenerationPlan plan, CodesBatch? prompt, int steps, MusicgenConditioning conditioning, PieceProgress progress,
        CancellationToken cancellation, FramesHandler onFrames)
    {
        cancellation.ThrowIfCancellationRequested();
        var config = _model.Config.Decoder;
        // Without text there is nothing to guide towards.
        var sampling = conditioning.TextStates is null ? plan.Sampling with { GuidanceScale = 1.0 } : plan.Sampling;
        int batch = plan.Batch, codebooks = Layout.Codebooks, rows = batch * codebooks;
        var promptIds = PromptIds(prompt, batch);

        int maxLength = promptIds.Length / rows + steps;
        var pattern = DelayPattern.Build(promptIds, rows, codebooks, config.AudioChannels, maxLength, _startTokenId);
        var sequence = new int[rows * maxLength];
        var initial = pattern.StartIds();
        for (int r = 0; r < rows; r++)
            initial.AsSpan(r * pattern.StartLength, pattern.StartLength).CopyTo(sequence.AsSpan(r * maxLength));

        int decoderBatch = sampling.UsesGuidance ? 2 * batch : batch;
        using var cache = _model.StartDecoding(conditioning, maxLength); // the cross-attention's keys and values of this window's text
        var sampler = new TokenSampler(sampling, config.VocabSize);
        int vocabularyWidth = codebooks * config.VocabSize;
        using var logits = _backend.Allocate(decoderBatch, vocabularyWidth);
        var next = new int[rows];
        var feed = new int[decoderBatch * codebooks * pattern.StartLength];
        FillFeed(sequence, maxLength, rows, 0, pattern.StartLength, feed);
        var completed = new CompletedFrames(pattern, sequence, Layout, onFrames);
        progress.StartSteps();

        for (int position = pattern.StartLength; position < maxLength; position++)
        {
            cancellation.ThrowIfCancellationRequested();
            int tokens = feed.Length / (decoderBatch * codebooks);
            _model.Decoder.Forward(cache, feed, tokens, logits, lastOnly: true);
            sampler.Next(_backend, logits, rows, next); // the step's one wait: its codes
            for (int r = 0; r < rows; r++)
            {
                int forced = pattern.Forced(r, position);
                sequence[r * maxLength + position] = forced == -1 ? next[r] : forced;
            }
            completed.After(position);
            progress.Step();
            if (tokens != 1) feed = new int[decoderBatch * codebooks];
            FillFeed(sequence, maxLength, rows, position, 1, feed);
        }

        int[] codes = pattern.Revert(sequence, out int frames); // [B, K, F]
        var byChannel = new CodesBatch(batch, Layout.Channels, Layout.CodebooksPerChannel, frames, Layout.ToChannels(codes, batch, frames));
        completed.Finish(byChannel);
        return new WindowCodes(byChannel, maxLength, sequence);
    }

    /// <summary>Decoder input before generation, [B·K, 1 + P]: the start token, then the prompt's codes if any, in the decoder's codebook order.</summary>
    private int[] PromptIds(CodesBatch? prompt, int batch)
    {
        int rows = batch * Layout.Codebooks;
        if (prompt is null) return Enumerable.Repeat(_startTokenId, rows).ToArray();
        int promptFrames = prompt.Frames;
        var decoderOrder = Layout.ToDecoder(prompt.Values, batch, promptFrames); // [B, K, P]
        var ids = new int[rows * (1 + promptFrames)];
        for (int row = 0; row < rows; row++)
        {
            ids[row * (1 + promptFrames)] = _startTokenId;
            decoderOrder.AsSpan(row * promptFrames, promptFrames).CopyTo(ids.AsSpan(row * (1 + promptFrames) + 1));
        }
        return ids;
    }

    /// <summary>Decoder input [N, K, T] for positions [from, from + count): the sequence, repeated for the null half.</summary>
    private static void FillFeed(int[] sequence, int maxLength, int rows, int from, int count, int[] feed)
    {
        for (int half = 0; half < feed.Length / (rows * count); half++)
            for (int r = 0; r < rows; r++)
                sequence.AsSpan(r * maxLength + from, count).CopyTo(feed.AsSpan((half * rows + r) * count));
    }

    /// <summary>
    /// A window's conditioning: its encoded texts (none when unconditional) and the melody's chroma, if any; with
    /// classifier-free guidance unless there is no text to guide towards.
    /// </summary>
    private MusicgenConditioning Conditioning(GenerationPlan plan, EncodedText? text, MelodyChroma? melody)
    {
        bool guidance = text is not null && plan.Sampling.UsesGuidance;
        return new MusicgenConditioning(plan.Batch, text?.States, text?.Mask ?? [], melody?.OneHot, melody?.Frames ?? 0, guidance);
    }

    /// <summary>The text encoder's states [B, S, d_text] of a window's texts, and their mask [B·S].</summary>
    private sealed record EncodedText(Tensor States, float[] Mask);

    /// <summary>
    /// The texts of a piece's windows, each distinct list of texts encoded once, held until the piece is done; with
    /// <paramref name="keepLastOnly"/> (a live prompt's texts, not known ahead and without end) only the last is held,
    /// encoded once for the windows that follow with the same text.
    /// </summary>
    private sealed class TextEncodings(MusicgenGenerator generator, bool keepLastOnly) : IDisposable
    {
        private readonly Dictionary<string, EncodedText> _encoded = [];

        /// <summary>The encoding of <paramref name="texts"/>, one per item; null for none (unconditional generation).</summary>
        public EncodedText? Of(IReadOnlyList<string> texts)
        {
            if (texts.Count == 0) return null;
            string key = string.Join('\0', texts);
            if (_encoded.TryGetValue(key, out var known)) return known;
            if (keepLastOnly) Dispose(); // the window that used it is done: its decoder cache is released
            var tokens = generator._tokenizer.EncodeBatch(texts);
            var ids = tokens.InputIds.Select(id => (int)id).ToArray();
            var mask = tokens.AttentionMask.Select(m => (float)m).ToArray();
            var encoded = new EncodedText(generator._model.TextEncoder.Forward(ids, mask, tokens.BatchSize, tokens.Length), mask);
            _encoded.Add(key, encoded);
            return encoded;
        }

        public void Dispose()
        {
            foreach (var encoded in _encoded.Values) encoded.States.Dispose();
            _encoded.Clear();
        }
    }

    /// <summary>
    /// The chroma a window follows: the plan's, for a piece of one window; for a long piece, that of the window's
    /// part of each tune, as audiocraft's MusicGen._generate_tokens takes it (from the window's offset, the window's
    /// length, <see cref="MelodyWindow"/>).
    /// </summary>
    private MelodyChroma? ChromaOf(GenerationPlan plan, GenerationWindow window)
    {
        if (plan.Tunes is not { } tunes) return plan.Chroma;
        var extractor = _chroma?.Value ?? throw new InvalidOperationException("a long piece that follows a melody needs the chroma extractor");
        int start = (int)((double)window.Offset / plan.FrameRate * Codec.Model.Config.SamplingRate);
        var parts = tunes.Select(tune => MelodyWindow(tune, start, (int)(plan.Window!.Value * extractor.SampleRate))).ToList();
        var oneHot = extractor.Extract(parts, out int frames);
        return new MelodyChroma(parts.Count, frames, extractor.NumChroma, oneHot);
    }

    /// <summary>
    /// The melody a window follows, as audiocraft's MusicGen._generate_tokens wraps it: the samples
    /// [start, start + length) of the tune, indices taken modulo its length (so a short tune repeats).
    /// </summary>
    public static float[] MelodyWindow(float[] tune, int start, int length)
    {
        var window = new float[length];
        for (int i = 0; i < length; i++) window[i] = tune[(int)(((long)start + i) % tune.Length)];
        return window;
    }

    /// <summary>Codes longer than this many frames are decoded in pieces of as many frames, so that the codec's activations stay those of one piece.</summary>
    private const int DecodePieceFrames = 250;

    /// <summary>
    /// Audio [B, C, F · hop] of codes [B, C, K', F], decoded whole. Longer codes go through the streaming decoder
    /// a piece at a time, so memory stays that of one piece, for audio within float rounding of the whole decode
    /// (<see cref="AudioStream"/>), and no slower.
    /// </summary>
    public AudioBatch DecodeAudio(CodesBatch codes)
    {
        if (codes.Frames <= DecodePieceFrames) return Codec.Decode(codes);
        using var stream = Codec.Stream(codes.Batch, codes.Codebooks, DecodePieceFrames);
        var pieces = new List<AudioBatch>();
        for (int start = 0; start < codes.Frames; start += DecodePieceFrames)
            pieces.Add(stream.Push(codes.FrameRange(start, Math.Min(DecodePieceFrames, codes.Frames - start))));
        pieces.Add(stream.Finish());
        var audio = AudioBatch.Concatenate(pieces);
        FiniteCheck.Require(audio.Values, "the audio decoded by the codec (the checkpoint's weights may hold NaN or infinity)");
        return audio;
    }

    /// <summary>The steps of every window reported as steps of the whole piece, at the speed of the piece so far.</summary>
    private sealed class PieceProgress(IProgress<GenerationProgress>? target, int total)
    {
        private Stopwatch? _clock;
        private int _done;

        /// <summary>A window starts its decoding steps; the speed counts from the first window's.</summary>
        public void StartSteps() => _clock ??= Stopwatch.StartNew();

        public void Step()
        {
            _done++;
            target?.Report(new GenerationProgress(_done, total, _done / Math.Max(_clock!.Elapsed.TotalSeconds, 1e-9)));
        }
    }
}
