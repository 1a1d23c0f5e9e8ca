using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;
using static MusicGen.Tests.Hub.HubTestData;

namespace MusicGen.Tests.Hub;

public class HubCacheTests
{
    private static readonly string[] ModelOnly = ["config.json", "generation_config.json", "model.safetensors"];

    [Fact]
    public void A_local_folder_is_returned_unchanged_without_asking_the_Hub()
    {
        using var temp = new TempFolder();
        using var hub = new FakeHub();
        Assert.Equal(MonoModel, ModelLocator.Resolve(MonoModel, Options(hub, temp.File("cache"))));
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, MonoModel);
        Assert.Equal(relative, ModelLocator.Resolve(relative, Options(hub, temp.File("cache"))));
        Assert.Empty(hub.Requests);
        Assert.False(Directory.Exists(temp.File("cache")));
    }

    [SkippableFact]
    public void A_cache_written_by_huggingface_hub_is_read_through_its_symlinks_offline()
    {
        using var temp = new TempFolder();
        string commit = FakeRepo.NewCommit();
        string snapshot = PythonStyleCache.Write(temp.Path, RepoId, commit, MonoModel, Directory.GetFiles(MonoModel).Select(Path.GetFileName)!);

        string folder = ModelLocator.Resolve(RepoId, new HubOptions("http://127.0.0.1:9", temp.Path, null, Offline: true));

        Assert.Equal(snapshot, folder);
        using var checkpoint = CheckpointFolder.Open(folder);
        using var source = CheckpointFolder.Open(MonoModel);
        string name = source.Weights.Names.First();
        Assert.Equal(source.Weights.ReadFloat32(name), checkpoint.Weights.ReadFloat32(name));
    }

    [SkippableFact]
    public void Tokenizer_files_missing_from_a_huggingface_hub_cache_are_added_beside_its_symlinks()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel);
        using var hub = new FakeHub(repo);
        string snapshot = PythonStyleCache.Write(temp.Path, RepoId, repo.MainCommit, MonoModel, ModelOnly);

        Assert.Equal(snapshot, ModelLocator.Resolve(RepoId, Options(hub, temp.Path)));

        Assert.True(File.Exists(Path.Combine(snapshot, "spiece.model")));
        Assert.True(File.ResolveLinkTarget(Path.Combine(snapshot, "model.safetensors"), returnFinalTarget: false) is not null, "the symlink is kept");
        Assert.DoesNotContain(hub.FileRequests, path => ModelOnly.Any(file => path.EndsWith("/" + file, StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void Offline_a_cache_with_only_the_model_is_enough_and_unreachable_tokenizer_files_are_only_a_warning()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel);
        using var hub = new FakeHub(repo);
        string snapshot = PythonStyleCache.Write(temp.Path, RepoId, repo.MainCommit, MonoModel, ModelOnly);
        hub.Stop();
        var log = new List<string>();

        Assert.Equal(snapshot, ModelLocator.Resolve(RepoId, Options(hub, temp.Path, offline: true, log: log)));
        Assert.Empty(log);
        Assert.Equal(snapshot, ModelLocator.Resolve(RepoId, Options(hub, temp.Path, log: log)));
        Assert.Contains(log, line => line.StartsWith("warning: could not fetch", StringComparison.Ordinal) && line.Contains("spiece.model"));
    }
}
