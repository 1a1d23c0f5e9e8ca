using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Generation;
using MusicGen.Loaders;
using MusicGen.Server.Generation;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>
/// Turns a <c>POST /v1/generations</c> body (JSON, or a multipart form with audio files) into validated
/// <see cref="GenerationParameters"/>, or a <see cref="RequestProblem"/> naming the field. Sizes and formats are
/// checked from the headers before the body is read; uploads go to files the server names, never the client.
/// </summary>
public sealed class RequestReader(IMusicGenerator generator, ServerOptions options)
{
    /// <summary>The largest JSON body (a prompt is at most a few kilobytes).</summary>
    private const int MaxJsonBytes = 1 << 20;

    /// <summary>The largest value of a text field in a form.</summary>
    private const int MaxFieldChars = 1 << 16;

    /// <summary>Upload content types the server reads, and the file extension that tells the decoder the format.</summary>
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
            var body = json ? await ReadJsonAsync(request, cancellation) : await ReadFormAsync(request, type!, uploads, cancellation);
            return Validate(body, uploads);
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

    private static async Task<GenerationRequestBody> ReadJsonAsync(HttpRequest request, CancellationToken cancellation)
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
                return document.RootElement.Deserialize<GenerationRequestBody>(Json)!;
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
        "prompt" => "a string",
        "prompts" => "a list of strings",
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

    /// <summary>Saves one uploaded file under a name of the server's choosing, after checking its type from the part's header.</summary>
    private async Task SaveUploadAsync(string name, MultipartSection section, Dictionary<string, string> uploads, CancellationToken cancellation)
    {
        if (!FileFields.Contains(name)) throw new RequestProblem(StatusCodes.Status400BadRequest, name, $"is not a file field of this request (use {string.Join(" or ", FileFields)})");
        if (uploads.ContainsKey(name)) throw new RequestProblem(StatusCodes.Status400BadRequest, name, "is given twice");
        string contentType = MediaTypeHeaderValue.TryParse(section.ContentType, out var type) ? type.MediaType.Value ?? "" : "";
        if (!AudioTypes.TryGetValue(contentType, out string? extension))
            throw new RequestProblem(StatusCodes.Status415UnsupportedMediaType, name,
                $"is {(contentType.Length == 0 ? "of no stated type" : contentType)}; send audio/wav{(HasFfmpeg ? ", audio/mpeg, audio/flac, audio/ogg or another audio type" : "")}");
        if (extension != ".wav" && !HasFfmpeg)
            throw new RequestProblem(StatusCodes.Status415UnsupportedMediaType, name, $"{contentType} needs ffmpeg, which this server does not have; send audio/wav");
        string folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "musicgen-serve")).FullName;
        string path = Path.Combine(folder, Guid.NewGuid().ToString("N") + extension);
        uploads[name] = path;
        await using (var file = File.Create(path))
            await section.Body.CopyToAsync(file, cancellation);
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

    /// <summary>Every rule on the fields, in the order a reader checks them.</summary>
    private GenerationParameters Validate(GenerationRequestBody body, Dictionary<string, string> uploads)
    {
        var model = generator.Model;
        if (body.Prompt is not null && body.Prompts is not null) throw Invalid("prompts", "give prompt or prompts, not both");
        string field = body.Prompts is null ? "prompt" : "prompts";
        string[] prompts = body.Prompts ?? (body.Prompt is null ? [] : [body.Prompt]);
        if (prompts.Length == 0) throw Invalid(field, "is required: describe the music");
        if (prompts.Length > options.MaxBatch) throw Invalid("prompts", $"has {prompts.Length} prompts; this server takes at most {options.MaxBatch} per request");
        foreach (string prompt in prompts)
        {
            if (string.IsNullOrWhiteSpace(prompt)) throw Invalid(field, "is empty: describe the music");
            if (prompt.Length > options.MaxPromptChars) throw Invalid(field, $"is {prompt.Length} characters long; at most {options.MaxPromptChars}");
            int tokens = generator.PromptTokens(prompt);
            if (tokens > MusicgenGenerator.MaxPromptTokens) throw Invalid(field, $"is {tokens} tokens long; the text encoder takes at most {MusicgenGenerator.MaxPromptTokens}");
        }

        double seconds = body.Duration ?? options.DefaultDuration(model);
        if (!double.IsFinite(seconds) || seconds <= 0) throw Invalid("duration", $"{seconds} must be a positive number of seconds");
        if (seconds > options.MaxDuration) throw Invalid("duration", $"{seconds} s is longer than this server generates (at most {options.MaxDuration:0.##} s)");
        if (model.SamplesFor(seconds, options.Window) == 0) throw Invalid("duration", $"{seconds} s is shorter than one codec frame (1/{model.FrameRate} s)");
        double stride = body.ExtendStride ?? options.ExtendStride;
        if (!(stride > 0 && stride < options.Window))
            throw Invalid("extend_stride", $"{stride} s must be more than 0 and less than the window ({options.Window:0.##} s)");
        bool longform = seconds > options.Window; // generated window by window

        var sampling = model.DefaultSampling with { Seed = body.Seed ?? 0 };
        sampling = Sampling(sampling, "greedy", s => s with { Greedy = body.Greedy ?? s.Greedy });
        sampling = Sampling(sampling, "top_k", s => s with { TopK = body.TopK ?? s.TopK });
        sampling = Sampling(sampling, "top_p", s => s with { TopP = body.TopP ?? s.TopP });
        sampling = Sampling(sampling, "temperature", s => s with { Temperature = body.Temperature ?? s.Temperature });
        sampling = Sampling(sampling, "guidance", s => s with { GuidanceScale = body.Guidance ?? s.GuidanceScale });

        AudioClip? melody = null, continuation = null;
        if (uploads.TryGetValue("melody", out string? melodyFile))
        {
            if (!model.FollowsMelody) throw Invalid("melody", $"this model ({model.Name}) does not follow melodies; use a melody checkpoint");
            melody = ReadUpload("melody", melodyFile, path => AudioFile.Read(path));
            // A long piece follows each window's part of the tune, so the tune may be as long as the piece.
            double tuneLimit = longform ? options.MaxDuration : model.MaxSeconds;
            if (melody.Seconds > tuneLimit) throw Invalid("melody", $"the tune is {melody.Seconds:0.0} s; this server follows at most {tuneLimit:0.##} s");
        }
        if (uploads.TryGetValue("continue", out string? continueFile))
        {
            if (!model.ContinuesAudio) throw Invalid("continue", $"this model ({model.Name}) does not continue audio (melody models do not, as in the reference); use a text-to-music checkpoint");
            continuation = ReadUpload("continue", continueFile, path => AudioFile.ReadAt(path, model.SampleRate, model.Channels));
            if (continuation.Length < model.HopLength) throw Invalid("continue", $"the audio is {continuation.Length} samples, shorter than one codec frame ({model.HopLength})");
            int promptFrames = (continuation.Length + model.HopLength - 1) / model.HopLength;
            if (longform && promptFrames >= options.Window * model.FrameRate)
                throw Invalid("continue", $"the audio is {continuation.Seconds:0.00} s; a piece longer than one window continues less than the window ({options.Window:0.##} s)");
            if (!longform && model.StepsFor(seconds) - promptFrames < 1)
                throw Invalid("duration", $"{seconds} s leaves nothing to generate after the {continuation.Seconds:0.00} s of audio to continue");
        }
        var pieces = prompts.Select(p => new PieceRequest(p, continuation, melody)).ToArray();
        return new GenerationParameters(pieces, seconds, sampling, body.Seed is not null, options.Window, stride);
    }

    /// <summary>Applies one setting and checks it with the engine's own rules, naming the field on failure.</summary>
    private static SamplingOptions Sampling(SamplingOptions current, string field, Func<SamplingOptions, SamplingOptions> apply)
    {
        var next = apply(current);
        try
        {
            next.Validate();
        }
        catch (MusicGenException e)
        {
            throw Invalid(field, e.Message);
        }
        return next;
    }

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
