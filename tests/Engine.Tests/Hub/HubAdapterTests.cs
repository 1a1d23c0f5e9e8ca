using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Hub;
using MusicGen.Tests.Support;
using static MusicGen.Tests.Hub.HubTestData;

namespace MusicGen.Tests.Hub;

/// <summary>Adapters named by Hub id come through the Hugging Face cache as models do, with only the two files PEFT reads.</summary>
public class HubAdapterTests
{
    private const string AdapterId = "someone/musicgen-punk-lora";

    [Fact]
    public void An_adapter_is_fetched_into_the_cache_with_its_two_files_and_found_there_offline()
    {
        using var temp = new TempFolder();
        string published = PublishedCopy(AdapterFiles.Lora, temp.File("repo"));
        var repo = FakeRepo.Create(AdapterId, published);
        using var hub = new FakeHub(repo);
        string cache = temp.File("cache");

        string folder = ModelLocator.ResolveAdapter(AdapterId, Options(hub, cache));

        Assert.Equal(SnapshotOf(cache, repo.MainCommit, AdapterId), folder);
        Assert.Equal([LoraConfig.FileName, LoraAdapter.WeightsFileName], FilesUnder(folder));
        Assert.Equal(File.ReadAllBytes(Path.Combine(AdapterFiles.Lora, LoraAdapter.WeightsFileName)), File.ReadAllBytes(Path.Combine(folder, LoraAdapter.WeightsFileName)));
        hub.Stop();
        using var checkpoint = ModelLocator.OpenCheckpoint(AdapterFiles.PromptModel, [AdapterReference.Parse($"{AdapterId}:0.5")], Options(hub, cache, offline: true));
        Assert.Equal(0.5, checkpoint.Adapters.Adapters.Single().Reference.Scale);
        Assert.Equal(folder, checkpoint.Adapters.Adapters.Single().Folder);
    }

    [Fact]
    public void A_repository_that_is_not_a_PEFT_adapter_is_refused_before_any_file_is_downloaded()
    {
        using var temp = new TempFolder();
        string pickled = temp.File("pickled");
        Directory.CreateDirectory(pickled);
        File.Copy(Path.Combine(AdapterFiles.Lora, LoraConfig.FileName), Path.Combine(pickled, LoraConfig.FileName));
        File.WriteAllText(Path.Combine(pickled, "adapter_model.bin"), "pickle");
        using var hub = new FakeHub(FakeRepo.Create(RepoId, MonoModel), FakeRepo.Create(AdapterId, pickled));

        var model = Assert.Throws<AdapterException>(() => LoraAdapter.Open(new AdapterReference(RepoId), Options(hub, temp.File("cache"))));
        Assert.Contains("has no adapter_config.json; it is not a PEFT adapter", model.Message);
        var bin = Assert.Throws<AdapterException>(() => LoraAdapter.Open(new AdapterReference(AdapterId), Options(hub, temp.File("cache"))));
        Assert.Contains("no safetensors weights (adapter_model.safetensors); it has only adapter_model.bin", bin.Message);
        Assert.Empty(hub.FileRequests);
    }
}
