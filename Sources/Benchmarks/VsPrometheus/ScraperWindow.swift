import Foundation

/// What one scraper (Prometheus or the leaf) did and spent over one measurement window.
struct ScraperWindow: Sendable {
    var seconds: Double
    var scrapes: Int
    /// Targets × window ÷ interval: what a scraper that keeps every scrape does.
    var due: Int
    var failed: Int
    var cpuSeconds: Double
    var residentBytes: Int
    /// Why targets were down at the end, one entry per target.
    var errors: [String] = []

    var millisecondsPerScrape: Double { scrapes > 0 ? cpuSeconds * 1000 / Double(scrapes) : .nan }
    /// CPU-seconds per second.
    var cores: Double { cpuSeconds / seconds }

    /// Measures `pid` for `length`: `scrapes` counted before and after, CPU from /proc over the
    /// same span, and the resident size at the end. A count is taken while its request runs
    /// (a large `/metrics` takes a while to render): the window runs from the middle of the first
    /// request to the middle of the last, and the scrapes due are reckoned over that span.
    static func measure(
        pid: Int32, length: Duration, targets: Int, interval: Duration, scrapes: () async throws -> Int
    ) async throws -> ScraperWindow {
        let stats = ProcStats(pid: pid)
        let clock = ContinuousClock()
        let firstAsked = clock.now
        let scrapesBefore = try await scrapes()
        // After the first request and after the last: one of them (itself a little CPU) is in the window.
        let cpuBefore = try stats.cpuSeconds()
        let start = firstAsked + (clock.now - firstAsked) / 2
        try await Task.sleep(until: start + length, clock: clock)
        let lastAsked = clock.now
        let scrapesAfter = try await scrapes()
        let end = lastAsked + (clock.now - lastAsked) / 2
        let cpuAfter = try stats.cpuSeconds()
        let elapsed = (end - start).seconds
        return ScraperWindow(
            seconds: elapsed, scrapes: scrapesAfter - scrapesBefore, due: Int((Double(targets) * elapsed / interval.seconds).rounded()),
            failed: 0, cpuSeconds: cpuAfter - cpuBefore, residentBytes: try stats.residentBytes())
    }
}
