using Microsoft.Extensions.AI;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers MusicGen as the service collection's <see cref="ITextToSpeechClient"/>.</summary>
public static class MusicGenServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="ITextToSpeechClient"/> that opens <paramref name="model"/> (a checkpoint folder or Hub id) on
    /// <paramref name="device"/> with its linear layers in <paramref name="weights"/> when first resolved (see
    /// <see cref="MusicGenTextToSpeechClient.Open"/>), and returns the builder, so that middleware such as
    /// <c>UseLogging</c> or <c>ConfigureOptions</c> wraps it.
    /// </summary>
    public static TextToSpeechClientBuilder AddMusicGen(this IServiceCollection services, string model, string device = "cpu",
        WeightType weights = WeightType.Q8, ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(model);
        return services.AddTextToSpeechClient(_ => MusicGenTextToSpeechClient.Open(model, device, weights), lifetime);
    }
}
