using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Extensions.AI;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Tests.ExtensionsAI;

/// <summary>
/// MusicGen as Microsoft.Extensions.AI's text-to-speech client: registered with AddMusicGen, wrapped by the
/// builder's middleware, generating from the golden mono checkpoint.
/// </summary>
#pragma warning disable MEAI001 // ITextToSpeechClient is experimental in Microsoft.Extensions.AI 11; it is what is tested.
public sealed class TextToSpeechClientTests
{
    private static readonly string Model = Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    private static TextToSpeechOptions Options(string format) => new()
    {
        AudioFormat = format,
        VoiceId = "ignored",
        AdditionalProperties = new() { [MusicGenTextToSpeechClient.Properties.Duration] = 0.3, [MusicGenTextToSpeechClient.Properties.Greedy] = true },
    };

    [Fact]
    public async Task A_client_built_through_the_builder_generates_music_whole_and_streamed()
    {
        var log = new CollectingLoggerFactory();
        var services = new ServiceCollection();
        services.AddMusicGen(Model, "cpu", WeightType.F32).UseLogging(log);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<ITextToSpeechClient>();
        Assert.NotNull(client.GetService<LoggingTextToSpeechClient>()); // the middleware wraps it
        var pipeline = client.GetService<MusicgenPipeline>()!;
        int samples = pipeline.Prepare(MusicRequest.FromText("x") with { Duration = 0.3 }).SamplesOf(0);

        var response = await client.GetAudioAsync("80s pop with synth", Options("audio/wav"));
        var whole = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("audio/wav", whole.MediaType);
        Assert.Equal(Model, response.ModelId);
        var clip = WavFile.Read(new MemoryStream(whole.Data.ToArray()), "whole");
        Assert.Equal((32000, 1, samples), (clip.SampleRate, clip.ChannelCount, clip.Length));
        Assert.Contains(clip.Channels[0], v => v != 0f);
        Assert.Contains(log.Messages, m => m.Contains("GetAudioAsync", StringComparison.Ordinal));

        // Streamed as FLAC: the updates' bytes, one after another, are the file, and the samples those of the whole piece.
        var updates = new List<TextToSpeechResponseUpdate>();
        await foreach (var update in client.GetStreamingAudioAsync("80s pop with synth", Options("flac"))) updates.Add(update);
        Assert.Equal(TextToSpeechResponseUpdateKind.SessionOpen, updates[0].Kind);
        Assert.Equal(TextToSpeechResponseUpdateKind.SessionClose, updates[^1].Kind);
        Assert.True(updates.Count(u => u.Kind == TextToSpeechResponseUpdateKind.AudioUpdating) >= 1);
        var bytes = updates.SelectMany(u => u.Contents.OfType<DataContent>()).SelectMany(d => d.Data.ToArray()).ToArray();
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("streamed.flac"), bytes);
        var streamed = AudioFile.Read(folder.File("streamed.flac"));
        Assert.Equal(samples, streamed.Length);
        for (int i = 0; i < samples; i++) Assert.Equal(Math.Clamp(clip.Channels[0][i], -1f, 1f), streamed.Channels[0][i], 1e-4f);
    }

    [Fact]
    public async Task Bad_options_are_refused_before_any_generation_naming_the_option()
    {
        using var client = MusicGenTextToSpeechClient.Open(Model, "cpu", WeightType.F32);
        var tooShort = Options("wav");
        tooShort.AdditionalProperties![MusicGenTextToSpeechClient.Properties.Duration] = 0.0;
        Assert.Contains("duration", (await Assert.ThrowsAsync<InvalidRequestException>(() => client.GetAudioAsync("jazz", tooShort))).Message, StringComparison.OrdinalIgnoreCase);
        var unknown = Options("wav");
        unknown.AdditionalProperties!["colour"] = "blue";
        Assert.Contains("colour", (await Assert.ThrowsAsync<InvalidRequestException>(() => client.GetAudioAsync("jazz", unknown))).Message);
        Assert.Contains("AudioFormat", (await Assert.ThrowsAsync<InvalidRequestException>(() => client.GetAudioAsync("jazz", Options("audio/x-vorbis")))).Message);
    }

    /// <summary>Keeps every message logged, at every level.</summary>
    private sealed class CollectingLoggerFactory : ILoggerFactory, ILogger
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider) { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add(formatter(state, exception));
        }

        public void Dispose() { }
    }
}
