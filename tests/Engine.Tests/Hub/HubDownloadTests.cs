using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;
using MusicGen.Tests.Support;
using static MusicGen.Tests.Hub.HubTestData;

namespace MusicGen.Tests.Hub;

public class HubDownloadTests
{
    private static readonly string[] CheckpointFiles =
    [
        "config.json", "generation_config.json", "model.safetensors", "preprocessor_config.json",
        "special_tokens_map.json", "spiece.model", "tokenizer_config.json",
    ];

    [Fact]
    public void A_fresh_download_is_a_checkpoint_with_the_published_bytes_and_nothing_else()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, PublishedCopy(MonoModel, temp.File("repo")));
        using var hub = new FakeHub(repo);
        var log = new List<string>();

        string folder = ModelLocator.Resolve(RepoId, Options(hub, temp.File("cache"), log: log));

        Assert.Equal(SnapshotOf(temp.File("cache"), repo.MainCommit), folder);
        Assert.Equal(CheckpointFiles, FilesUnder(folder));
        foreach (string file in CheckpointFiles)
            Assert.Equal(File.ReadAllBytes(Path.Combine(MonoModel, file)), File.ReadAllBytes(Path.Combine(folder, file)));
        using (var checkpoint = CheckpointFolder.Open(folder))
            Assert.Equal(CheckpointKind.Musicgen, checkpoint.Kind);

        string repoFolder = RepoFolder(temp.File("cache"));
        Assert.Equal(repo.MainCommit, File.ReadAllText(Path.Combine(repoFolder, "refs", "main")));
        Assert.True(File.Exists(Path.Combine(repoFolder, ".no_exist", repo.MainCommit, "tokenizer.json")), "the absent tokenizer.json is recorded");
        Assert.DoesNotContain(hub.Requests, path => path.EndsWith(".bin", StringComparison.Ordinal) || path.EndsWith(".md", StringComparison.Ordinal));
        Assert.Contains(hub.Requests, path => path.StartsWith("/storage/", StringComparison.Ordinal)); // the redirect was followed
        Assert.Contains(log, line => line.StartsWith("downloading model.safetensors (8.0 MiB)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_cached_model_is_found_without_asking_the_Hub_even_when_it_is_gone()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel);
        using var hub = new FakeHub(repo);
        string cache = temp.File("cache");
        string downloaded = ModelLocator.Resolve(RepoId, Options(hub, cache));
        int requests = hub.Requests.Count;

        Assert.Equal(downloaded, ModelLocator.Resolve(RepoId, Options(hub, cache)));
        Assert.Equal(requests, hub.Requests.Count);
        hub.Stop();
        Assert.Equal(downloaded, ModelLocator.Resolve(RepoId, Options(hub, cache)));
        Assert.Equal(downloaded, ModelLocator.Resolve(RepoId, Options(hub, cache, offline: true)));
        Assert.Equal(downloaded, ModelLocator.Resolve($"{RepoId}@main", Options(hub, cache, offline: true)));
    }

    [Fact]
    public void A_branch_or_tag_gets_its_ref_and_a_commit_hash_needs_none()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel, "v1");
        using var hub = new FakeHub(repo);
        string cache = temp.File("cache");

        string tagged = ModelLocator.Resolve($"{RepoId}@v1", Options(hub, cache));
        Assert.Equal(SnapshotOf(cache, repo.Refs["v1"]), tagged);
        Assert.Equal(repo.Refs["v1"], File.ReadAllText(Path.Combine(RepoFolder(cache), "refs", "v1")));

        string pinned = ModelLocator.Resolve($"{RepoId}@{repo.MainCommit}", Options(hub, cache));
        Assert.Equal(SnapshotOf(cache, repo.MainCommit), pinned);
        Assert.Equal(["v1"], FilesUnder(Path.Combine(RepoFolder(cache), "refs")));

        hub.Stop();
        Assert.Equal(pinned, ModelLocator.Resolve($"{RepoId}@{repo.MainCommit}", Options(hub, cache, offline: true)));
        Assert.Equal(tagged, ModelLocator.Resolve($"{RepoId}@v1", Options(hub, cache, offline: true)));
    }

    [Fact]
    public void A_sharded_repository_downloads_the_index_and_every_shard()
    {
        using var temp = new TempFolder();
        CheckpointVariants.Write(MonoModel, temp.File("repo"), shards: 3);
        var repo = FakeRepo.Create(RepoId, temp.File("repo"));
        using var hub = new FakeHub(repo);

        string folder = ModelLocator.Resolve(RepoId, Options(hub, temp.File("cache")));

        string[] shards = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"];
        Assert.All(shards.Append("model.safetensors.index.json"), file => Assert.True(File.Exists(Path.Combine(folder, file)), file));
        using var checkpoint = CheckpointFolder.Open(folder);
        Assert.Equal(3, checkpoint.Weights.Files.Count);
        using var source = CheckpointFolder.Open(MonoModel);
        string name = source.Weights.Names.First();
        Assert.Equal(source.Weights.ReadFloat32(name), checkpoint.Weights.ReadFloat32(name));
    }

    [Fact]
    public void A_missing_shard_is_downloaded_alone_or_named_when_offline()
    {
        using var temp = new TempFolder();
        CheckpointVariants.Write(MonoModel, temp.File("repo"), shards: 2);
        var repo = FakeRepo.Create(RepoId, temp.File("repo"));
        using var hub = new FakeHub(repo);
        string cache = temp.File("cache");
        string folder = ModelLocator.Resolve(RepoId, Options(hub, cache));
        string lost = "model-00002-of-00002.safetensors";
        File.Delete(Path.Combine(folder, lost));

        var offline = Assert.Throws<MusicGenException>(() => ModelLocator.Resolve(RepoId, Options(hub, cache, offline: true)));
        Assert.Contains(lost, offline.Message);
        Assert.Contains("HF_HUB_OFFLINE", offline.Message);

        int before = hub.FileRequests.Count();
        Assert.Equal(folder, ModelLocator.Resolve(RepoId, Options(hub, cache)));
        Assert.Equal([$"/{RepoId}/resolve/{repo.MainCommit}/{lost}"], hub.FileRequests.Skip(before));
        using var checkpoint = CheckpointFolder.Open(folder);
        Assert.Equal(2, checkpoint.Weights.Files.Count);
    }
}
