using System.Diagnostics;
using System.Text;
using TorchDoctor.Tests.Porting;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.BadInput;

/// <summary>One bad input: the command line (files made by <see cref="BadInputSuite"/>), and the exit codes it may give.</summary>
/// <param name="Kind">The input kind: idx, csv, images, torchscript, state_dict, reference, print, options.</param>
/// <param name="Problem">What is wrong with it.</param>
/// <param name="Args">The command line.</param>
/// <param name="Codes">Documented exit codes it may give (2 bad input; 1 findings for damaged data the check reads on).</param>
/// <param name="Names">Text the one-line error must contain when the exit code is 2 (the file name), or null.</param>
public sealed record BadCase(string Kind, string Problem, string[] Args, int[] Codes, string? Names)
{
    /// <inheritdoc />
    public override string ToString() => $"{Kind}: {Problem}";
}

/// <summary>
/// Builds the bad-input suite's files once (in a temporary folder) and lists its cases: for every input kind,
/// truncations at many offsets, wrong magic/headers, huge and negative sizes, non-finite values, directories and
/// empty files. Unreadable files need another user and are in <see cref="BadInputSuiteTests.Unreadable_files_exit_2_as_another_user"/>.
/// </summary>
public static class BadInputSuite
{
    private static readonly Lazy<(string Dir, List<BadCase> Cases)> Built = new(Build);

    /// <summary>The cases.</summary>
    public static IReadOnlyList<BadCase> Cases => Built.Value.Cases;

    /// <summary>xunit data: case indices (the cases themselves are built lazily, once).</summary>
    public static IEnumerable<object[]> Indices() => Enumerable.Range(0, Cases.Count).Select(i => new object[] { i });

    /// <summary>Offsets to cut a file of <paramref name="length"/> bytes at: the first bytes one by one, then spread over the file.</summary>
    public static IEnumerable<long> CutOffsets(long length)
    {
        var o = new SortedSet<long> { 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 64 };
        for (int k = 1; k <= 7; k++) o.Add(length * k / 8);
        o.Add(length - 1);
        return o.Where(x => x > 0 && x < length);
    }

    private static (string, List<BadCase>) Build()
    {
        var dir = Path.Combine(Path.GetTempPath(), "td-badinput-suite-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var cases = new List<BadCase>();
        string W(string name, byte[] bytes) { var p = Path.Combine(dir, name); Directory.CreateDirectory(Path.GetDirectoryName(p)!); File.WriteAllBytes(p, bytes); return p; }
        string T(string name, string text) => W(name, Encoding.UTF8.GetBytes(text));
        var folder = Path.Combine(dir, "a-folder");
        Directory.CreateDirectory(folder);
        void Add(string kind, string problem, int[] codes, string? names, params string[] args) => cases.Add(new BadCase(kind, problem, args, codes, names));
        int[] bad = [2], findings = [1], badOrFindings = [1, 2];

        // IDX: check-data --idx IMAGES LABELS
        using (var tmp = new TempDir())
        {
            var (im, lb) = BadFiles.Idx(tmp, "ok", 30, 6, 6, i => i % 3);
            var images = File.ReadAllBytes(im);
            var labels = W("idx/labels", File.ReadAllBytes(lb));
            var (gim, _) = BadFiles.Idx(tmp, "gz", 30, 6, 6, i => i % 3, gzip: true);
            var gz = File.ReadAllBytes(gim);
            foreach (var at in CutOffsets(images.Length))
                Add("idx", $"images truncated at byte {at}", bad, $"cut{at}", "check-data", "--idx", W($"idx/cut{at}", images[..(int)at]), labels);
            foreach (var at in CutOffsets(gz.Length))
                Add("idx", $"gzip images truncated at byte {at}", bad, $"gzcut{at}", "check-data", "--idx", W($"idx/gzcut{at}.gz", gz[..(int)at]), labels);
            var m = (byte[])images.Clone(); m[0] = 0x50; m[1] = 0x4B;
            Add("idx", "wrong magic (zip bytes)", bad, "magic", "check-data", "--idx", W("idx/magic", m), labels);
            var t = (byte[])images.Clone(); t[2] = 0x07;
            Add("idx", "unknown element type", bad, "type", "check-data", "--idx", W("idx/type", t), labels);
            var r0 = (byte[])images.Clone(); r0[3] = 0;
            Add("idx", "rank 0", bad, "rank0", "check-data", "--idx", W("idx/rank0", r0), labels);
            var huge = (byte[])images.Clone(); huge[4] = 0x7F; huge[5] = 0xFF; huge[6] = 0xFF; huge[7] = 0xFF; huge[8] = 0x7F;
            Add("idx", "huge dimensions (2^31 x 2^31)", bad, "huge", "check-data", "--idx", W("idx/huge", huge), labels);
            var neg = (byte[])images.Clone(); neg[4] = 0xFF;
            Add("idx", "negative dimension", bad, "neg", "check-data", "--idx", W("idx/neg", neg), labels);
            Add("idx", "more data than the header says", bad, "long", "check-data", "--idx", W("idx/long", [.. images, 1, 2, 3]), labels);
            Add("idx", "labels file of another count", bad, null, "check-data", "--idx", W("idx/images", images), W("idx/labels-short", File.ReadAllBytes(lb)[..^5]));
            Add("idx", "gzip without its CRC trailer", bad, "notrailer", "check-data", "--idx", W("idx/notrailer.gz", gz[..^8]), labels);
            Add("idx", "empty file", bad, "empty", "check-data", "--idx", W("idx/empty", []), labels);
            Add("idx", "a directory", bad, "a-folder", "check-data", "--idx", folder, labels);
            Add("idx", "missing file", bad, "nonexistent", "check-data", "--idx", Path.Combine(dir, "nonexistent"), labels);
            // Non-finite float32 pixels: read, reported as findings.
            var f = new byte[4 * 4 * 4 * 4];
            for (int i = 0; i < 64; i++) BitConverter.TryWriteBytes(f.AsSpan(i * 4), i % 9 == 0 ? float.NaN : i % 11 == 0 ? float.PositiveInfinity : i);
            var fim = Path.Combine(dir, "idx/float-nan");
            TorchDoctor.Data.IdxReader.Write(fim, TorchDoctor.Data.IdxElementType.Float32, [4, 4, 4], f);
            var flb = Path.Combine(dir, "idx/float-labels");
            TorchDoctor.Data.IdxReader.Write(flb, TorchDoctor.Data.IdxElementType.UInt8, [4], [0, 1, 0, 1]);
            Add("idx", "NaN and Inf pixels", findings, null, "check-data", "--idx", fim, flb);
        }

        // CSV: check-data --csv FILE
        var csvText = "a,b,y\n" + string.Join("\n", Enumerable.Range(0, 40).Select(i => $"{i * 0.5},{i % 7},{i % 2}")) + "\n";
        var csvBytes = Encoding.UTF8.GetBytes(csvText);
        foreach (var at in CutOffsets(csvBytes.Length))
            Add("csv", $"truncated at byte {at}", [0, 1, 2], $"cut{at}", "check-data", "--csv", W($"csv/cut{at}.csv", csvBytes[..(int)at]));
        Add("csv", "header only", bad, "header", "check-data", "--csv", T("csv/header.csv", "a,b,y\n"));
        Add("csv", "one column", bad, "onecol", "check-data", "--csv", T("csv/onecol.csv", "y\n1\n2\n"));
        Add("csv", "ragged rows", bad, "ragged", "check-data", "--csv", T("csv/ragged.csv", "a,b,y\n1,2,0\n1,2\n"));
        Add("csv", "binary (zip bytes)", bad, "binary", "check-data", "--csv", W("csv/binary.csv", File.ReadAllBytes(Fixtures.Path("tiny_cnn.pt"))[..4096]));
        Add("csv", "no numeric column", bad, "alltext", "check-data", "--csv", T("csv/alltext.csv", "a,y\nx,0\ny,1\n"));
        Add("csv", "no such label column", bad, "nolabel", "check-data", "--csv", T("csv/nolabel.csv", "a,b\n1,2\n"), "--label-column", "zzz");
        Add("csv", "non-finite values (pandas/numpy spellings)", findings, null, "check-data", "--csv", T("csv/nonfinite.csv", "a,y\ninf,0\n-inf,1\nnan,0\n1,1\n"));
        Add("csv", "huge values (1e400 overflows to Inf)", findings, null, "check-data", "--csv", T("csv/huge.csv", "a,y\n1e400,0\n1,1\n2,0\n"));
        Add("csv", "negative labels", findings, null, "check-data", "--csv", T("csv/neglabel.csv", "a,y\n1,-1\n2,0\n3,1\n"));
        Add("csv", "huge labels (2^62)", findings, null, "check-data", "--csv", T("csv/hugelabel.csv", "a,y\n1,4611686018427387904\n2,0\n3,1\n"));
        Add("csv", "empty file", bad, "empty", "check-data", "--csv", W("csv/empty.csv", []));
        Add("csv", "blank lines only", bad, "blank", "check-data", "--csv", T("csv/blank.csv", "\n\n  \n"));
        Add("csv", "a directory", bad, "a-folder", "check-data", "--csv", folder);

        // Image folder: check-data --images DIR
        var imgRoot = Path.Combine(dir, "images");
        var png = BadFiles.Png(8, 8);
        W("images/ok/a.png", png); W("images/ok/b.png", BadFiles.Png(8, 8, 40));
        foreach (var at in CutOffsets(png.Length))
            W($"images/cut/cut{at}.png", png[..(int)at]);
        W("images/cut/empty.png", []);
        W("images/cut/text.png", Encoding.UTF8.GetBytes("not an image at all"));
        W("images/cut/huge.png", BadFiles.HugePngHeader(30000, 30000));
        Add("images", "truncated, empty, mislabelled and huge images among good ones", badOrFindings, null, "check-data", "--images", imgRoot);
        var noClasses = Path.Combine(dir, "images-empty");
        Directory.CreateDirectory(noClasses);
        Add("images", "a folder without class folders", bad, "images-empty", "check-data", "--images", noClasses);
        W("images-noimg/a/readme.txt", Encoding.UTF8.GetBytes("x"));
        Add("images", "class folders without images", bad, "images-noimg", "check-data", "--images", Path.Combine(dir, "images-noimg"));
        Add("images", "a file instead of a folder", bad, "a.png", "check-data", "--images", Path.Combine(dir, "images/ok/a.png"));
        Add("images", "missing folder", bad, "nonexistent", "check-data", "--images", Path.Combine(dir, "nonexistent"));
        Add("images", "huge --max-image-pixels 0", bad, "--max-image-pixels", "check-data", "--images", imgRoot, "--max-image-pixels", "0");

        // TorchScript: summary FILE --input 1,1,8,8
        var ts = File.ReadAllBytes(Fixtures.Path("tiny_cnn.pt"));
        foreach (var at in CutOffsets(ts.Length))
            Add("torchscript", $"truncated at byte {at}", bad, $"cut{at}", "summary", W($"ts/cut{at}.pt", ts[..(int)at]), "--input", "1,1,8,8");
        var tm = (byte[])ts.Clone(); tm[0] = (byte)'X';
        Add("torchscript", "wrong magic", bad, "magic", "summary", W("ts/magic.pt", tm), "--input", "1,1,8,8");
        foreach (var at in new[] { ts.Length / 4, ts.Length / 2, ts.Length * 3 / 4 })
        {
            var fl = (byte[])ts.Clone();
            for (int i = at; i < at + 64 && i < fl.Length; i++) fl[i] ^= 0x5A;
            Add("torchscript", $"64 bytes flipped at {at}", bad, $"flip{at}", "summary", W($"ts/flip{at}.pt", fl), "--input", "1,1,8,8");
        }
        Add("torchscript", "a state_dict instead of a script", bad, "portnet", "summary", PortingFixtures.P("portnet.pt"), "--input", "1,3,12,12");
        Add("torchscript", "empty file", bad, "empty", "summary", W("ts/empty.pt", []), "--input", "1,1,8,8");
        Add("torchscript", "a directory", bad, "a-folder", "summary", folder, "--input", "1,1,8,8");
        Add("torchscript", "negative input size", bad, "--input", "summary", Fixtures.Path("tiny_cnn.pt"), "--input", "1,-1,8,8");
        Add("torchscript", "huge input size", bad, "needs about", "summary", Fixtures.Path("tiny_cnn.pt"), "--input", "100000,100000,100000,8");

        // state_dict: compare --model portnet --pytorch FILE
        var sd = File.ReadAllBytes(PortingFixtures.P("portnet.pt"));
        foreach (var at in CutOffsets(sd.Length))
            Add("state_dict", $"torch.save file truncated at byte {at}", bad, $"cut{at}", "compare", "--model", "portnet", "--pytorch", W($"sd/cut{at}.pt", sd[..(int)at]));
        var st = File.ReadAllBytes(PortingFixtures.P("portnet.safetensors"));
        foreach (var at in CutOffsets(st.Length))
            Add("state_dict", $"safetensors truncated at byte {at}", bad, $"stcut{at}", "compare", "--model", "portnet", "--pytorch", W($"sd/stcut{at}.safetensors", st[..(int)at]));
        var hugeHeader = (byte[])st.Clone();
        for (int i = 0; i < 8; i++) hugeHeader[i] = 0xFF;
        Add("state_dict", "safetensors header length 2^64-1", bad, "hugeheader", "compare", "--model", "portnet", "--pytorch", W("sd/hugeheader.safetensors", hugeHeader));
        var sdm = (byte[])sd.Clone(); sdm[0] = 0; sdm[1] = 0;
        Add("state_dict", "wrong magic", bad, "magic", "compare", "--model", "portnet", "--pytorch", W("sd/magic.pt", sdm));
        var sdf = (byte[])sd.Clone();
        for (int i = sd.Length / 2; i < sd.Length / 2 + 64; i++) sdf[i] ^= 0x5A;
        Add("state_dict", "64 bytes flipped", bad, "flip", "compare", "--model", "portnet", "--pytorch", W("sd/flip.pt", sdf));
        Add("state_dict", "a TorchScript file", bad, "tiny_cnn", "compare", "--model", "portnet", "--pytorch", Fixtures.Path("tiny_cnn.pt"));
        Add("state_dict", "empty file", bad, "empty", "compare", "--model", "portnet", "--pytorch", W("sd/empty.pt", []));
        Add("state_dict", "a directory", bad, "a-folder", "compare", "--model", "portnet", "--pytorch", folder);
        Add("state_dict", "NaN weights", findings, null, "compare", "--model", "portnet", "--pytorch", NanCheckpoint(dir));

        // reference: compare --model portnet --reference FILE
        var rf = File.ReadAllBytes(PortingFixtures.P("portnet_ref.pt"));
        foreach (var at in CutOffsets(rf.Length))
            Add("reference", $"truncated at byte {at}", bad, $"cut{at}", "compare", "--model", "portnet", "--reference", W($"ref/cut{at}.pt", rf[..(int)at]));
        Add("reference", "a state_dict instead of a reference", bad, "portnet.pt", "compare", "--model", "portnet", "--reference", PortingFixtures.P("portnet.pt"));
        Add("reference", "an input the model cannot take (NHWC)", bad, "portnet_ref_nhwc", "compare", "--model", "portnet", "--reference", PortingFixtures.P("portnet_ref_nhwc.pt"));
        Add("reference", "empty file", bad, "empty", "compare", "--model", "portnet", "--reference", W("ref/empty.pt", []));
        Add("reference", "a directory", bad, "a-folder", "compare", "--model", "portnet", "--reference", folder);
        Add("reference", "NaN output", findings, null, "compare", "--model", "portnet", "--reference", NanReference(dir, false));
        Add("reference", "NaN input and output", findings, null, "compare", "--model", "portnet", "--reference", NanReference(dir, true));
        Add("reference", "negative tolerance", bad, "--tolerance", "compare", "--model", "portnet", "--reference", PortingFixtures.P("portnet_ref.pt"), "--tolerance", "-1");

        // print text: compare --model portnet --pytorch-print FILE
        var pr = File.ReadAllBytes(PortingFixtures.P("portnet.txt"));
        foreach (var at in CutOffsets(pr.Length))
            Add("print", $"truncated at byte {at}", at == pr.Length - 1 ? [0, 1, 2] : badOrFindings, $"pcut{at}", "compare", "--model", "portnet", "--pytorch-print", W($"print/pcut{at}.txt", pr[..(int)at]));
        Add("print", "binary bytes", bad, "binary", "compare", "--model", "portnet", "--pytorch-print", W("print/binary.txt", File.ReadAllBytes(Fixtures.Path("tiny_cnn.pt"))));
        Add("print", "nested 3,000 deep", bad, "deep", "compare", "--model", "portnet", "--pytorch-print", T("print/deep.txt", BadFiles.NestedPrint(3000)));
        Add("print", "unbalanced parentheses", bad, "unbalanced", "compare", "--model", "portnet", "--pytorch-print", T("print/unbalanced.txt", "Net(\n  (a): Linear(in_features=2, out_features=2\n)\n"));
        Add("print", "bad indentation", bad, "indent", "compare", "--model", "portnet", "--pytorch-print", T("print/indent.txt", "Net(\n (a): ReLU()\n)\n"));
        Add("print", "empty file", bad, "empty", "compare", "--model", "portnet", "--pytorch-print", W("print/empty.txt", []));
        Add("print", "a directory", bad, "a-folder", "compare", "--model", "portnet", "--pytorch-print", folder);

        // Options: huge and negative sizes.
        Add("options", "negative --max-memory", bad, "--max-memory", "summary", "--model", "mlp", "--max-memory", "-5G");
        Add("options", "--max-memory too small for the model", bad, "needs about", "summary", "--model", "mlp", "--max-memory", "1K");
        Add("options", "huge --input", bad, "needs about", "summary", "--model", "mlp", "--input", "9223372036854775807,784");
        Add("options", "--input beyond long", bad, "--input", "summary", "--model", "mlp", "--input", "99999999999999999999,784");
        Add("options", "negative --sample", bad, "--sample", "check-data", "--csv", T("csv/okk.csv", csvText), "--sample", "-1");
        Add("options", "negative --classes", bad, "--classes", "check-data", "--csv", T("csv/ok2.csv", csvText), "--classes", "-3");
        Add("options", "huge --batch-dim", bad, "--batch-dim", "summary", "--model", "mlp", "--input", "784", "--batch-dim", "2147483647");
        Add("options", "unknown --loss", bad, "hinge", "check-data", "--csv", T("csv/ok3.csv", csvText), "--loss", "hinge");
        return (dir, cases);
    }

    private static string NanCheckpoint(string dir)
    {
        using var file = TorchDoctor.Porting.PyTorchFiles.ReadStateDict(PortingFixtures.P("portnet.pt"));
        var entries = file.Tensors.Select(kv => (kv.Key, kv.Key == "head.1.weight" ? full_like(kv.Value, double.NaN) : kv.Value)).ToList();
        using var t = PortingFixtures.Write(entries);
        var p = Path.Combine(dir, "sd/nan.pt");
        File.Copy(t.Path, p, true);
        return p;
    }

    private static string NanReference(string dir, bool nanInput)
    {
        using var x = nanInput ? full(new long[] { 1, 3, 12, 12 }, double.NaN) : rand(1, 3, 12, 12);
        using var y = full(new long[] { 1, 10 }, double.NaN);
        using var t = PortingFixtures.Write([("input", x), ("output", y)]);
        var p = Path.Combine(dir, nanInput ? "ref/nan-both.pt" : "ref/nan-out.pt");
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.Copy(t.Path, p, true);
        return p;
    }
}

/// <summary>The bad-input suite: every case gives a documented exit code and, for exit 2, one clear line naming the input, within 10 s.</summary>
public class BadInputSuiteTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(BadInputSuite.Indices), MemberType = typeof(BadInputSuite))]
    public void Bad_input_gives_a_documented_exit_code_and_one_line(int index)
    {
        var c = BadInputSuite.Cases[index];
        var sw = Stopwatch.StartNew();
        var (code, _, err) = CliRunner.Run(c.Args);
        sw.Stop();
        Assert.True(c.Codes.Contains(code), $"{c}: exit {code}, expected {string.Join(" or ", c.Codes)}; stderr: {err}");
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("internal error", err);
        if (code == 2)
        {
            Assert.StartsWith("torchdoctor: ", err);
            Assert.True(err.Trim().Split('\n').Length == 1, $"{c}: more than one line: {err}");
            if (c.Names is not null) Assert.Contains(c.Names, err);
        }
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"{c}: {sw.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void The_suite_covers_every_input_kind_and_problem_class()
    {
        var kinds = BadInputSuite.Cases.GroupBy(c => c.Kind).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var k in new[] { "idx", "csv", "images", "torchscript", "state_dict", "reference", "print" })
        {
            Assert.True(kinds.ContainsKey(k), k);
            Assert.Contains(kinds[k], c => c.Problem.Contains("truncated", StringComparison.Ordinal));
            Assert.Contains(kinds[k], c => c.Problem.Contains("empty", StringComparison.Ordinal));
        }
        foreach (var k in new[] { "idx", "csv", "torchscript", "state_dict", "reference", "print" })
            Assert.Contains(kinds[k], c => c.Problem.Contains("directory", StringComparison.Ordinal));
        Assert.True(BadInputSuite.Cases.Count >= 150, $"{BadInputSuite.Cases.Count} cases");
        // The counts docs/bad-input.md states.
        foreach (var (k, list) in kinds)
            output.WriteLine($"COUNT {k}: {list.Count} ({list.Count(c => c.Problem.Contains("truncated", StringComparison.Ordinal))} truncations)");
        output.WriteLine($"COUNT total: {BadInputSuite.Cases.Count}");
    }

    /// <summary>
    /// Unreadable files for every input kind. CI runs as root, who reads any file: the CLI runs as <c>nobody</c> through
    /// <c>setpriv</c> (util-linux, installed on Debian) in a child process; as another user, directly.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Unreadable_files_exit_2_as_another_user()
    {
        bool root = Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || geteuid() == 0;
        if (root) Assert.True(File.Exists("/usr/bin/setpriv"), "setpriv (util-linux) is needed to run the CLI as nobody");
        var cli = CliDll(root);
        using var d = new TempDir();
        File.SetUnixFileMode(d.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        string Locked(string name, byte[] bytes) { var p = d.Write(name, bytes); File.SetUnixFileMode(p, UnixFileMode.None); return p; }
        var lockedDir = Path.Combine(d.Path, "locked-images");
        Directory.CreateDirectory(Path.Combine(lockedDir, "a"));
        File.WriteAllBytes(Path.Combine(lockedDir, "a", "x.png"), BadFiles.Png(4, 4));
        File.SetUnixFileMode(lockedDir, UnixFileMode.None);
        var csv = Locked("t.csv", "a,y\n1,0\n"u8.ToArray());
        var cases = new List<string[]>
        {
            new[] { "check-data", "--idx", Locked("i.idx", [0, 0, 8, 1, 0, 0, 0, 1, 5]), Locked("l.idx", [0, 0, 8, 1, 0, 0, 0, 1, 0]) },
            new[] { "check-data", "--csv", csv },
            new[] { "check-data", "--images", lockedDir },
            new[] { "summary", Locked("s.pt", File.ReadAllBytes(Fixtures.Path("tiny_cnn.pt"))), "--input", "1,1,8,8" },
            new[] { "compare", "--model", "portnet", "--pytorch", Locked("sd.pt", File.ReadAllBytes(PortingFixtures.P("portnet.pt"))) },
            new[] { "compare", "--model", "portnet", "--reference", Locked("ref.pt", File.ReadAllBytes(PortingFixtures.P("portnet_ref.pt"))) },
            new[] { "compare", "--model", "portnet", "--pytorch-print", Locked("p.txt", File.ReadAllBytes(PortingFixtures.P("portnet.txt"))) },
        };
        foreach (var args in cases)
        {
            var psi = root ? new ProcessStartInfo("/usr/bin/setpriv") : new ProcessStartInfo("dotnet");
            if (root) foreach (var a in new[] { "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "dotnet" }) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(cli);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.RedirectStandardError = true;
            psi.RedirectStandardOutput = true;
            psi.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
            psi.Environment["HOME"] = Path.GetTempPath();
            psi.Environment["DOTNET_NOLOGO"] = "1";
            var clock = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            var errTask = p.StandardError.ReadToEndAsync();
            var outTask = p.StandardOutput.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(cts.Token);
            var err = await errTask;
            var stdout = await outTask;
            Assert.True(p.ExitCode == 2, $"{string.Join(" ", args)}: exit {p.ExitCode}: {err} {stdout}");
            // Each case within 10 s, process start and native library load included (docs/bad-input.md).
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{string.Join(" ", args)}: {clock.Elapsed.TotalSeconds:0.0} s");
            Assert.StartsWith("torchdoctor: ", err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("permission denied", err);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    /// <summary>The CLI's own build output (the test project builds it); a hard-linked copy under /tmp when nobody cannot reach it.</summary>
    private static string CliDll(bool root)
    {
        var here = AppContext.BaseDirectory;
        var repo = Path.GetFullPath(Path.Combine(here, "..", "..", "..", "..", ".."));
        var bin = Path.Combine(repo, "src", "TorchDoctor.Cli", "bin", "Release", "net10.0");
        var dll = Path.Combine(bin, "TorchDoctor.Cli.dll");
        Assert.True(File.Exists(dll), dll + " is missing: build src/TorchDoctor.Cli -c Release");
        if (!root) return dll;
        var probe = Process.Start(new ProcessStartInfo("/usr/bin/setpriv", ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "test", "-r", dll]))!;
        probe.WaitForExit();
        if (probe.ExitCode == 0) return dll;
        var copy = Path.Combine(Path.GetTempPath(), "td-cli-for-nobody");
        if (!File.Exists(Path.Combine(copy, "TorchDoctor.Cli.dll")))
        {
            var cp = Process.Start(new ProcessStartInfo("cp", ["-al", bin, copy]))!;
            cp.WaitForExit();
            if (cp.ExitCode != 0) { var cp2 = Process.Start(new ProcessStartInfo("cp", ["-a", bin, copy]))!; cp2.WaitForExit(); }
            Process.Start(new ProcessStartInfo("chmod", ["-R", "a+rX", copy]))!.WaitForExit();
        }
        return Path.Combine(copy, "TorchDoctor.Cli.dll");
    }
}
