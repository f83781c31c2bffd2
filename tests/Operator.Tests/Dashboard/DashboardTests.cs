using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Operator.Tests.Dashboard;

/// <summary>
/// The live dashboard (GET /) in a real browser against a real agent in mesh mode with traffic
/// (<see cref="MeshAgent"/>: tokyo local + hk remote via etcd, client traffic through the VIP).
///
/// The agent's stats endpoint listens on 127.0.0.1:9962 inside the node netns, so chromium runs
/// there too: Playwright launches a tiny wrapper that execs Debian's /usr/bin/chromium under
/// `ip netns exec` (Playwright talks to the browser over a pipe, which crosses namespaces). The
/// Microsoft.Playwright package brings its node driver (.playwright/ in the build output); no
/// `playwright install`, no download.
///
/// Checks: the page lists the backends of both clusters with their cluster and a packet count,
/// and the cluster mesh table shows hk ready; after a CiliumNetworkPolicy restricting netshoot to
/// tokyo's bookstore, the drops table and the recent-drops table show policy_denied. A screenshot
/// is saved under the test output directory (path printed), also when a check fails.
/// </summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string DashboardUrl = "http://127.0.0.1:9962/";
    private const float WaitMs = 30_000;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Dashboard_shows_backends_of_both_clusters_and_a_policy_denied_drop_after_a_policy_is_applied()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (./build.sh setup)");
        using var mesh = new MeshAgent();
        string wrapper = Path.Combine(mesh.Root, "chromium-in-netns.sh");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec ip netns exec {mesh.Topology.Node.Name} {Chromium} \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string screenshot = Path.Combine(AppContext.BaseDirectory, "TestResults", $"dashboard-{mesh.Topology.Id}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);

        using var traffic = new TrafficLoop(mesh.Topology.Client);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = wrapper,
            Headless = true,
            Args = ["--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        try
        {
            var response = await page.GotoAsync(DashboardUrl);
            Assert.NotNull(response);
            Assert.Equal(200, response.Status);

            // Both clusters' backends, each with its cluster and traffic counted.
            foreach (var (backend, cluster) in new[] { ("10.244.2.1:8080", "hk"), ("10.244.2.2:8080", "hk"), ("10.244.2.3:8080", "tokyo"), ("10.244.2.4:8080", "tokyo") })
                await page.Locator($"#backends tr[data-backend=\"{backend}\"][data-cluster=\"{cluster}\"]").WaitForAsync(new() { Timeout = WaitMs });
            await page.WaitForFunctionAsync("""
                () => ['hk', 'tokyo'].every(c => [...document.querySelectorAll(`#backends tr[data-cluster="${c}"]`)]
                    .some(r => Number(r.dataset.packets) > 0))
                """, null, new() { Timeout = WaitMs });
            await page.Locator("#clusters tr[data-cluster=\"hk\"][data-ready=\"true\"]").WaitForAsync(new() { Timeout = WaitMs });
            await page.Locator("#frontends tr[data-frontend=\"10.96.0.10:80/TCP\"][data-cluster=\"tokyo\"]").WaitForAsync(new() { Timeout = WaitMs });
            await page.Locator("#legend [data-legend-cluster=\"hk\"]").WaitForAsync(new() { Timeout = WaitMs });
            foreach (string cluster in new[] { "hk", "tokyo" }) // the rate chart has a line per backend, in its cluster's colour
                await page.Locator($"#backend-chart polyline[data-cluster=\"{cluster}\"]").First.WaitForAsync(
                    new() { Timeout = WaitMs, State = WaitForSelectorState.Attached });
            Assert.Equal(0, await page.Locator("#drops tr[data-drop-reason=\"policy_denied\"]").CountAsync());
            output.WriteLine($"before the policy: {traffic}");

            mesh.RestrictToLocalCluster();
            await page.Locator("#drops tr[data-drop-reason=\"policy_denied\"]").WaitForAsync(new() { Timeout = WaitMs });
            await page.Locator("#recent-drops tr[data-flow-drop=\"policy_denied\"]").First.WaitForAsync(new() { Timeout = WaitMs });
            string count = await page.Locator("#drops tr[data-drop-reason=\"policy_denied\"]").GetAttributeAsync("data-count") ?? "0";
            Assert.True(long.Parse(count) > 0, $"policy_denied row shows {count} drops");
            output.WriteLine($"after the policy: {traffic}; dashboard shows {count} policy_denied drops");
            // Let the charts gather a few more points for the picture.
            await page.WaitForTimeoutAsync(2000);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\ntraffic: {traffic}\nagent log:\n{mesh.Agent?.Log}");
        }
        finally
        {
            try
            {
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
                output.WriteLine($"dashboard screenshot: {screenshot}");
            }
            catch (PlaywrightException e)
            {
                output.WriteLine($"no dashboard screenshot: {e.Message}"); // keep the test's own failure visible
            }
        }
    }
}
