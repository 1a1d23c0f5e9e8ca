using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Loaders;
using MusicGen.Server.Generation;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>
/// Turns a <c>POST /v1/generations</c> body (JSON, or a multipart form with audio files) into a request that the
/// engine checks and plans (<see cref="GenerationParameters"/>), or a <see cref="RequestProblem"/> naming the field.
/// It parses; the rules on the values are the engine's. Sizes and formats are checked from the headers before the
/// body is read; uploads go to files the server names, never the client.
/// </summary>
public sealed class RequestReader(IMusicGenerator generator, ServerOptions options)
{
    /// <summary>The largest JSON body (a prompt is at most a few kilobytes).</summary>
    private const int MaxJsonBytes = 1 << 20;

    /// <summary>The largest value of a text field in a form.</summary>
    private const int MaxFieldChars = 1 << 16;

    /// <summary>Declared upload types the server takes, and the extension that tells the decoder the format where the content does not.</summary>
    private static readonly Dictionary<string, string> AudioTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["audio/wav"] = ".wav", ["audio/x-wav"] = ".wav", ["audio/wave"] = ".wav", ["audio/vnd.wave"] = ".wav",
        ["audio/mpeg"] = ".mp3", ["audio/mp3"] = ".mp3", ["audio/flac"] = ".flac", ["audio/x-flac"] = ".flac",
        ["audio/ogg"] = ".ogg", ["audio/opus"] = ".opus", ["audio/mp4"] = ".m4a", ["audio/x-m4a"] = ".m4a", ["audio/aac"] = ".aac",
        ["audio/webm"] = ".webm",
    };

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly string[] FileFields = ["melody", "continue"];

    /// <summary>Reads and checks a submission.</summary>
    /// <exception cref="RequestProblem">The request is refused.</exception>
    public async Task<GenerationParameters> ReadAsync(HttpRequest request, CancellationToken cancellation)
    {
        var type = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed : null;
        bool multipart = type?.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true;
        bool json = type?.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) == true;
        if (!multipart && !json)
            throw new RequestProblem(StatusCodes.Status415UnsupportedMediaType, "Content-Type",
                $"send application/json or multipart/form-data, not {(string.IsNullOrEmpty(request.ContentType) ? "nothing" : request.ContentType)}");
        long limit = multipart ? options.MaxUploadBytes : MaxJsonBytes;
        if (request.ContentLength > limit)
            throw new RequestProblem(StatusCodes.Status413PayloadTooLarge, "body", $"the request is {request.ContentLength} bytes; this server takes at most {limit}");
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize) bodySize.MaxRequestBodySize = limit;

        var uploads = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var body = json ? await ReadJsonAsync<GenerationRequestBody>(request, cancellation) : await ReadFormAsync(request, type!, uploads, cancellation);
            return Prepare(body, uploads);
        }
        catch (Exception e) when (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            throw new RequestProblem(StatusCodes.Status413PayloadTooLarge, "body", $"the request is larger than this server takes ({limit} bytes)");
        }
        finally
        {
            foreach (string file in uploads.Values) File.Delete(file);
        }
    }

    /// <summary>
    /// A JSON body of another shape (the OpenAI-style route's <see cref="SpeechRequestBody"/>), checked as a
    /// submission's is: its type and size from the headers, then its fields by name and type.
    /// </summary>
    /// <exception cref="RequestProblem">The request is refused.</exception>
    public static async Task<T> ReadJsonBodyAsync<T>(HttpRequest request, CancellationToken cancellation) where T : class
    {
        if (!(MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
            throw new RequestProblem(StatusCodes.Status415UnsupportedMediaType, "Content-Type",
                $"send application/json, not {(string.IsNullOrEmpty(request.ContentType) ? "nothing" : request.ContentType)}");
        if (request.ContentLength > MaxJsonBytes)
            throw new RequestProblem(StatusCodes.Status413PayloadTooLarge, "body", $"the request is {request.ContentLength} bytes; this server takes at most {MaxJsonBytes}");
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize) bodySize.MaxRequestBodySize = MaxJsonBytes;
        try
        {
            return await ReadJsonAsync<T>(request, cancellation);
        }
        catch (Exception e) when (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            throw new RequestProblem(StatusCodes.Status413PayloadTooLarge, "body", $"the request is larger than this server takes ({MaxJsonBytes} bytes)");
        }
    }

    private static async Task<T> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellation) where T : class
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellation);
        }
        catch (JsonException e)
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, "body", $"is not valid JSON ({e.Message})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new RequestProblem(StatusCodes.Status400BadRequest, "body", "must be a JSON object");
            try
            {
                return document.RootElement.Deserialize<T>(Json)!;
            }
            catch (JsonException e)
            {
                if (UnknownProperty(e.Message) is { } unknown) throw new RequestProblem(StatusCodes.Status400BadRequest, unknown, "is not a field of this request");
                string field = e.Path is { Length: > 2 } path ? path[2..].Split('[')[0] : "body";
                throw WrongType(field);
            }
        }
    }

    /// <summary>The name System.Text.Json quotes when a property is unknown ("The JSON property 'x' could not be mapped …").</summary>
    private static string? UnknownProperty(string message)
    {
        const string marker = "The JSON property '";
        int start = message.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0 || !message.Contains("could not be mapped", StringComparison.Ordinal)) return null;
        start += marker.Length;
        int end = message.IndexOf('\'', start);
        return end > start ? message[start..end] : null;
    }

    private static string ExpectedType(string field) => field switch
    {
        "prompt" or "text" or "input" or "model" or "instructions" or "response_format" or "stream_format" => "a string",
        "prompts" => "a list of strings",
        "schedule" => "a list of {\"seconds\": number, \"text\": string}",
        "greedy" => "true or false",
        "seed" => "a whole number ≥ 0",
        "top_k" => "a whole number",
        _ => "a number",
    };

    private async Task<GenerationRequestBody> ReadFormAsync(HttpRequest request, MediaTypeHeaderValue type, Dictionary<string, string> uploads, CancellationToken cancellation)
    {
        string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value
            ?? throw new RequestProblem(StatusCodes.Status400BadRequest, "Content-Type", "multipart/form-data needs a boundary");
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = options.MaxUploadBytes };
        var body = new GenerationRequestBody();
        var prompts = new List<string>();
        try
        {
            while (await reader.ReadNextSectionAsync(cancellation) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || disposition.Name.Value is not { } rawName)
                    throw new RequestProblem(StatusCodes.Status400BadRequest, "body", "a form part has no name");
                string name = HeaderUtilities.RemoveQuotes(rawName).Value!;
                if (disposition.IsFileDisposition()) await SaveUploadAsync(name, section, uploads, cancellation);
                else SetField(body, prompts, name, await ReadFieldAsync(name, section, cancellation));
            }
        }
        catch (InvalidDataException e)
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, "body", $"the form is malformed ({e.Message})");
        }
        if (prompts.Count > 0) body.Prompts = [.. prompts];
        return body;
    }

    /// <summary>
    /// Saves one uploaded file under a name of the server's choosing. The part's declared type is checked from its
    /// header (an audio type, application/octet-stream as curl sends, or none); the format is then told by the content
    /// (WAV, FLAC, MP3, Ogg Vorbis or Opus, read here), else by the declared audio type (ffmpeg's to decode).
    /// </summary>
    private async Task SaveUploadAsync(string name, MultipartSection section, Dictionary<string, string> uploads, CancellationToken cancellation)
    {
        if (!FileFields.Contains(name)) throw new RequestProblem(StatusCodes.Status400BadRequest, name, $"is not a file field of this request (use {string.Join(" or ", FileFields)})");
        // Which of them the form has depends on the model, as /healthz says.
        var model = generator.Model;
        if (name == "melody" && !model.FollowsMelody) throw Invalid(name, $"this model ({model.Name}) does not follow melodies; use a melody checkpoint");
        if (name == "continue" && !model.ContinuesAudio)
            throw Invalid(name, $"this model ({model.Name}) does not continue audio (melody models do not, as in the reference); use a text-to-music checkpoint");
        if (uploads.ContainsKey(name)) throw new RequestProblem(StatusCodes.Status400BadRequest, name, "is given twice");
        string contentType = MediaTypeHeaderValue.TryParse(section.ContentType, out var type) ? type.MediaType.Value ?? "" : "";
        bool undeclared = contentType.Length == 0 || contentType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase);
        string? declared = AudioTypes.GetValueOrDefault(contentType);
        if (declared is null && !undeclared)
            throw new RequestProblem(StatusCodes.Status415UnsupportedMediaType, name,
                $"is {contentType}, not audio; send the file as application/octet-stream (its content tells the format) or its audio/… type");
        string path = Path.Combine(ServerTempFolder.Create(), Guid.NewGuid().ToString("N"));
        uploads[name] = path;
        await using (var file = File.Create(path))
            await section.Body.CopyToAsync(file, cancellation);
        string? extension = ContentExtension(path);
        if (extension is null && !HasFfmpeg && !ReadHere.Contains(declared ?? ""))
            throw new RequestProblem(StatusCodes.Status415UnsupportedMediaType, name,
                $"is {(declared is null ? "no audio this server recognises by its content" : $"{contentType}, which needs ffmpeg, and this server has none")}; "
                + "send WAV, FLAC, MP3, Ogg Vorbis or Ogg Opus");
        // The extension only tells the decoder what to try when the content is not recognised (ffmpeg, or the declared
        // format's reader for its precise error).
        string named = path + (extension ?? declared ?? "");
        File.Move(path, named);
        uploads[name] = named;
    }

    /// <summary>The extensions whose files the engine reads itself even when their start is not recognised (for its precise error).</summary>
    private static readonly HashSet<string> ReadHere = [".wav", ".flac", ".opus"];

    /// <summary>The extension of the format the file's first bytes show, or null (an ID3 tag is taken for MP3: it may be longer than the bytes looked at).</summary>
    private static string? ContentExtension(string path)
    {
        var head = new byte[512];
        int read;
        using (var file = File.OpenRead(path)) read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (head.AsSpan(0, read).StartsWith("ID3"u8)) return ".mp3";
        return AudioFile.Detect(head.AsSpan(0, read)) switch
        {
            AudioContainer.Wav => ".wav",
            AudioContainer.Flac => ".flac",
            AudioContainer.Mp3 => ".mp3",
            AudioContainer.OggOpus => ".opus",
            AudioContainer.OggVorbis => ".ogg",
            _ => null,
        };
    }

    private static bool HasFfmpeg => FfmpegDecoder.FromEnvironment().Executable is not null;

    private static async Task<string> ReadFieldAsync(string name, MultipartSection section, CancellationToken cancellation)
    {
        var buffer = new char[MaxFieldChars + 1];
        using var text = new StreamReader(section.Body);
        int read = await text.ReadBlockAsync(buffer.AsMemory(), cancellation);
        if (read > MaxFieldChars) throw new RequestProblem(StatusCodes.Status400BadRequest, name, $"is longer than {MaxFieldChars} characters");
        return new string(buffer, 0, read);
    }

    /// <summary>One text field of a form, parsed as the JSON field of the same name.</summary>
    private static void SetField(GenerationRequestBody body, List<string> prompts, string name, string value)
    {
        if (name == "prompt") body.Prompt = value;
        else if (name == "prompts") prompts.Add(value);
        else if (value.Length == 0) return; // an empty form field is a setting left at its default
        else if (name == "duration") body.Duration = Number(name, value);
        else if (name == "seed") body.Seed = ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed) ? seed : throw WrongType(name);
        else if (name == "top_k") body.TopK = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int k) ? k : throw WrongType(name);
        else if (name == "top_p") body.TopP = Number(name, value);
        else if (name == "temperature") body.Temperature = Number(name, value);
        else if (name == "guidance") body.Guidance = Number(name, value);
        else if (name == "greedy") body.Greedy = value.ToLowerInvariant() switch { "true" or "on" or "1" => true, "false" or "off" or "0" => false, _ => throw WrongType(name) };
        else if (name == "extend_stride") body.ExtendStride = Number(name, value);
        else throw new RequestProblem(StatusCodes.Status400BadRequest, name, "is not a field of this request");
    }

    private static double Number(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) ? number : throw WrongType(name);

    private static RequestProblem WrongType(string name) => new(StatusCodes.Status400BadRequest, name, $"has the wrong type ({ExpectedType(name)} expected)");

    private static RequestProblem Invalid(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);

    /// <summary>The request fields the engine names, by the body field that sets each (the prompts' is the one the body used).</summary>
    private static readonly Dictionary<string, string> BodyFields = new(StringComparer.Ordinal)
    {
        [nameof(MusicRequest.Duration)] = "duration",
        [nameof(MusicRequest.ExtendStride)] = "extend_stride",
        [nameof(MusicRequest.Seed)] = "seed",
        [nameof(MusicRequest.TopK)] = "top_k",
        [nameof(MusicRequest.TopP)] = "top_p",
        [nameof(MusicRequest.Temperature)] = "temperature",
        [nameof(MusicRequest.Guidance)] = "guidance",
        [nameof(MusicRequest.Greedy)] = "greedy",
        [nameof(MusicRequest.AudioPrompts)] = "continue",
        [nameof(MusicRequest.Melodies)] = "melody",
        [nameof(MusicRequest.Schedule)] = "schedule",
    };

    /// <summary>A JSON body's request (no uploads), checked and planned as a submission's is.</summary>
    /// <exception cref="RequestProblem">The request is refused, naming the body's field.</exception>
    public GenerationParameters Prepare(GenerationRequestBody body) => Prepare(body, []);

    /// <summary>
    /// The request the body asks for, its unset length and windows the server's, checked and planned by the engine
    /// within the server's limits; a refusal names the body's field.
    /// </summary>
    private GenerationParameters Prepare(GenerationRequestBody body, Dictionary<string, string> uploads)
    {
        if (body.Prompt is not null && body.Prompts is not null) throw Invalid("prompts", "give prompt or prompts, not both");
        string promptField = body.Prompts is null ? "prompt" : "prompts";
        string[] prompts = body.Prompts ?? (body.Prompt is null ? [] : [body.Prompt]);
        if (prompts.Length == 0) throw Invalid(promptField, "is required: describe the music");
        var request = WithSettings(body) with
        {
            Prompts = prompts,
            Duration = body.Duration ?? options.DefaultDuration(generator.Model),
            AudioPrompts = ReadUploads(uploads, "continue"),
            Melodies = ReadUploads(uploads, "melody"),
            Schedule = (body.Schedule ?? []).Select(change => new PromptChange(
                change.Seconds ?? throw Invalid("schedule", "each change needs its seconds"), change.Text ?? throw Invalid("schedule", "each change needs its text"))).ToList(),
        };
        return Plan(request, body.Seed is not null, field => field == nameof(MusicRequest.Prompts) ? promptField : BodyFields.GetValueOrDefault(field, "body"));
    }

    /// <summary>
    /// The request of a <c>POST /v1/streams</c> body: without end, its text a <see cref="LivePrompt"/>, checked and
    /// planned by the engine as a submission is; a duration is refused (naming it).
    /// </summary>
    /// <exception cref="RequestProblem">The request is refused, naming the body's field.</exception>
    public async Task<GenerationParameters> ReadStreamAsync(HttpRequest http, CancellationToken cancellation)
    {
        var body = await ReadJsonBodyAsync<StreamRequestBody>(http, cancellation);
        if (body.Prompt is null) throw Invalid("prompt", "is required: describe the music");
        var request = WithSettings(body) with
        {
            LivePrompt = new LivePrompt(body.Prompt),
            Forever = true,
            Duration = body.Duration,
        };
        return Plan(request, body.Seed is not null, StreamField("prompt"));
    }

    /// <summary>A request with the body's sampling settings and the server's window and default stride.</summary>
    private MusicRequest WithSettings(GenerationSettingsBody body) => new()
    {
        Window = options.Window,
        ExtendStride = body.ExtendStride ?? options.ExtendStride,
        Seed = body.Seed,
        Greedy = body.Greedy ?? false,
        TopK = body.TopK,
        TopP = body.TopP,
        Temperature = body.Temperature,
        Guidance = body.Guidance,
    };

    /// <summary>Checks a new text for a stream of <paramref name="request"/> as the engine checks a stream's prompt; a refusal names <c>text</c>.</summary>
    /// <exception cref="RequestProblem">The text is refused.</exception>
    public void CheckStreamText(MusicRequest request, string? text)
    {
        if (text is null) throw Invalid("text", "is required: describe the music");
        Plan(request with { LivePrompt = new LivePrompt(text) }, seedGiven: true, StreamField("text"));
    }

    /// <summary>The body field of a stream's request the engine names: the prompt's is <paramref name="promptField"/>; its being without end is its (absent) duration's.</summary>
    private static Func<string, string> StreamField(string promptField) => field => field switch
    {
        nameof(MusicRequest.Prompts) or nameof(MusicRequest.LivePrompt) => promptField,
        nameof(MusicRequest.Forever) => "duration",
        _ => BodyFields.GetValueOrDefault(field, "body"),
    };

    /// <summary>The engine's plan of a request within the server's limits; a refusal names the body's field (<paramref name="bodyField"/>).</summary>
    private GenerationParameters Plan(MusicRequest request, bool seedGiven, Func<string, string> bodyField)
    {
        try
        {
            var plan = generator.Prepare(request, new RequestLimits(options.MaxDuration, options.MaxBatch, options.MaxPromptChars));
            return new GenerationParameters(request, plan, seedGiven);
        }
        catch (InvalidRequestException e)
        {
            string field = e.Field is { } name ? bodyField(name) : "body";
            throw Invalid(field, e.Field == nameof(MusicRequest.Forever) ? "a stream plays until it is stopped; give no duration" : e.Render(bodyField));
        }
    }

    /// <summary>The upload of a file field, decoded, or none.</summary>
    private static AudioClip[] ReadUploads(Dictionary<string, string> uploads, string field) =>
        uploads.TryGetValue(field, out string? path) ? [ReadUpload(field, path, file => AudioFile.Read(file))] : [];

    /// <summary>Decodes an upload; the message names the field, never the server's file.</summary>
    private static AudioClip ReadUpload(string field, string path, Func<string, AudioClip> read)
    {
        try
        {
            return read(path);
        }
        catch (MusicGenException e)
        {
            throw Invalid(field, e.Message.Replace(path, "the uploaded file", StringComparison.Ordinal));
        }
    }
}
