import Foundation
import Shared

/// The leaves as the hub sees them: configured targets with their live scrape health, joined
/// with what the database knows of each (team, epoch, last applied scrape).
struct LeafHealth: Sendable {
    let scrapes: ScrapeManager<HubIngest>
    let queries: HubQueries

    func reports() async throws -> [LeafReport] {
        let rows = Dictionary(try await queries.leaves().map { ($0.url, $0) }, uniquingKeysWith: { first, _ in first })
        let health = scrapes.allHealth
        return scrapes.targets.sorted { $0.key < $1.key }.map { target in
            let record = health[target.key] ?? TargetHealth()
            let row = rows[target.url]
            return LeafReport(
                leaf: target.service, url: target.url, team: row?.team ?? "", name: row?.name ?? "", epoch: row?.epoch ?? "", health: record.state,
                lastError: record.lastError, lastScrape: record.lastScrape, lastScrapeDurationSeconds: record.lastDurationSeconds,
                lastApplied: row?.lastApplied, stale: record.state == .down && row != nil)
        }
    }
}
