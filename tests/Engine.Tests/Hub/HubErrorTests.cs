using MusicGen.Loaders;
using MusicGen.Loaders.Hub;
using MusicGen.Tests.Support;
using static MusicGen.Tests.Hub.HubTestData;

namespace MusicGen.Tests.Hub;

public class HubErrorTests
{
    private static string Fails(string model, HubOptions options) =>
        Assert.Throws<MusicGenException>(() => ModelLocator.Resolve(model, options)).Message;

    [Theory]
    [InlineData("no/such/folder")]
    [InlineData("./missing")]
    [InlineData("owner/name@")]
    [InlineData("owner--x/name")]
    [InlineData("owner/../name")]
    public void Neither_a_folder_nor_a_Hub_id_is_refused_before_any_request(string model)
    {
        using var temp = new TempFolder();
        using var hub = new FakeHub();
        Assert.Contains("no such folder, and not a Hugging Face Hub model id", Fails(model, Options(hub, temp.Path)));
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public void A_file_is_not_a_model_folder()
    {
        using var temp = new TempFolder();
        using var hub = new FakeHub();
        Assert.Contains("this is a file", Fails(Path.Combine(MonoModel, "config.json"), Options(hub, temp.Path)));
    }

    [Fact]
    public void Offline_with_nothing_cached_says_how_to_download()
    {
        using var temp = new TempFolder();
        using var hub = new FakeHub(FakeRepo.Create(RepoId, MonoModel));
        string message = Fails(RepoId, Options(hub, temp.Path, offline: true));
        Assert.Contains($"{RepoId}@main: not in the Hugging Face cache", message);
        Assert.Contains("unset HF_HUB_OFFLINE", message);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public void A_repository_without_safetensors_weights_is_refused_before_anything_is_downloaded()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.File("repo"));
        File.Copy(Path.Combine(MonoModel, "config.json"), temp.File("repo/config.json"));
        File.WriteAllText(temp.File("repo/pytorch_model.bin"), "weights");
        using var hub = new FakeHub(FakeRepo.Create(RepoId, temp.File("repo")));

        string message = Fails(RepoId, Options(hub, temp.File("cache")));

        Assert.Contains("no safetensors weights", message);
        Assert.Contains("it has only pytorch_model.bin", message);
        Assert.Empty(hub.FileRequests);
        Assert.Empty(FilesUnder(temp.File("cache")));
    }

    [Theory]
    [InlineData("../escaped.safetensors", "which is not a file name")]
    [InlineData("model-00009-of-00009.safetensors", "which the repository does not have")]
    public void An_index_naming_a_shard_outside_the_snapshot_or_the_repository_is_refused(string shard, string expected)
    {
        using var temp = new TempFolder();
        CheckpointVariants.Write(MonoModel, temp.File("repo"), shards: 2);
        string index = temp.File("repo/model.safetensors.index.json");
        File.WriteAllText(index, File.ReadAllText(index).Replace("model-00002-of-00002.safetensors", shard));
        using var hub = new FakeHub(FakeRepo.Create(RepoId, temp.File("repo")));

        string message = Fails(RepoId, Options(hub, temp.File("cache")));

        Assert.Contains("model.safetensors.index.json lists", message);
        Assert.Contains(expected, message);
        Assert.DoesNotContain(FilesUnder(temp.File("cache")), file => file.Contains("escaped", StringComparison.Ordinal));
        Assert.DoesNotContain(hub.FileRequests, path => path.Contains("00002", StringComparison.Ordinal) || path.Contains("00009", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_repository_or_revision_is_named_with_the_404()
    {
        using var temp = new TempFolder();
        using var hub = new FakeHub(FakeRepo.Create(RepoId, MonoModel));

        string repository = Fails("nobody/nothing", Options(hub, temp.Path));
        Assert.StartsWith("nobody/nothing@main: not found (HTTP 404", repository);
        Assert.Contains("check the repository id", repository);

        string revision = Fails($"{RepoId}@v9", Options(hub, temp.Path));
        Assert.StartsWith($"{RepoId}@v9: no such revision (HTTP 404", revision);
    }

    [Fact]
    public void A_private_repository_needs_HF_TOKEN_and_gets_it_on_every_request()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel) with { Token = "hf_secret" };
        using var hub = new FakeHub(repo);

        string anonymous = Fails(RepoId, Options(hub, temp.Path));
        Assert.Contains("HTTP 401", anonymous);
        Assert.Contains("set HF_TOKEN", anonymous);
        Assert.Contains("with the token in HF_TOKEN", Fails(RepoId, Options(hub, temp.Path, token: "hf_wrong")));

        string folder = ModelLocator.Resolve(RepoId, Options(hub, temp.Path, token: "hf_secret"));
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
    }

    [Fact]
    public void A_server_error_names_the_file_and_the_status()
    {
        using var temp = new TempFolder();
        using var hub = new FakeHub(FakeRepo.Create(RepoId, MonoModel));
        hub.Faults["spiece.model"] = Fault.ServerError;
        string message = Fails(RepoId, Options(hub, temp.Path));
        Assert.StartsWith($"spiece.model of {RepoId}@", message);
        Assert.Contains("the server failed (HTTP 503", message);
    }

    [Fact]
    public void An_unreachable_Hub_suggests_offline_mode()
    {
        using var temp = new TempFolder();
        var hub = new FakeHub();
        var options = Options(hub, temp.Path);
        hub.Dispose();
        string message = Fails(RepoId, options);
        Assert.Contains($"no answer from {hub.Endpoint} (", message);
        Assert.Contains("HF_HUB_OFFLINE=1", message);
    }

    [Theory]
    [InlineData(Fault.Drop)]
    [InlineData(Fault.CutShort)]
    public void A_broken_download_keeps_nothing_under_the_file_name_and_the_next_run_completes_it(Fault fault)
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel);
        using var hub = new FakeHub(repo);
        string cache = temp.File("cache");
        hub.Faults["model.safetensors"] = fault;

        string message = Fails(RepoId, Options(hub, cache));

        Assert.StartsWith($"model.safetensors of {RepoId}@", message);
        Assert.Contains("The response ended prematurely", message);
        string snapshot = SnapshotOf(cache, repo.MainCommit);
        Assert.DoesNotContain(FilesUnder(snapshot), file => file.StartsWith("model.safetensors", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(RepoFolder(cache), "refs", "main")), "the ref waits for a complete snapshot");

        hub.Faults.Clear();
        Assert.Equal(snapshot, ModelLocator.Resolve(RepoId, Options(hub, cache)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(MonoModel, "model.safetensors")), File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
    }

    [Fact]
    public void A_body_shorter_than_its_Content_Length_is_refused_even_when_the_handler_lets_it_through()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel);
        using var hub = new FakeHub(repo);
        var options = Options(hub, temp.Path) with { Handler = new ShorteningHandler("spiece.model") };

        string message = Fails(RepoId, options);

        Assert.StartsWith($"spiece.model of {RepoId}@", message);
        Assert.Contains("but announced", message);
        Assert.DoesNotContain("spiece.model", FilesUnder(SnapshotOf(temp.Path, repo.MainCommit)));
    }

    /// <summary>Drops the last byte of one file but keeps its Content-Length, as a careless proxy might.</summary>
    private sealed class ShorteningHandler(string file) : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!request.RequestUri!.AbsolutePath.EndsWith("/" + file, StringComparison.Ordinal)) return response;
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            response.Content = new ByteArrayContent(body, 0, body.Length - 1) { Headers = { ContentLength = body.Length } };
            return response;
        }
    }
}
