import Foundation

@testable import Shared

/// View models for the web tests, with strings a hostile service could send.
enum WebFixtures {
    static let script = "<script>window.__pwned=1</script>"
    static let image = #"<img src=x onerror="window.__pwned=1">"#
    static let alertScript = "<script>alert(1)</script>"
    static let alertImage = "<img src=x onerror=alert(1)>"
    static let now = Date(timeIntervalSince1970: 1_746_280_800)  // 2025-05-03 14:00:00 UTC

    static func row(errorClass: String, message: String, service: String = "checkout", team: String = "payments", status: String = "unresolved")
        -> GroupRowView
    {
        GroupRowView(
            href: "/groups/" + PageLink.segment(errorClass),
            status: StatusBadgeView(status: status),
            severity: SeverityBadgeView(.error),
            errorClass: errorClass,
            message: message,
            service: service,
            team: team,
            firstSeen: TimeView(now.addingTimeInterval(-3 * 86400), now: now),
            lastSeen: TimeView(now.addingTimeInterval(-180), now: now),
            total: CountView(12_345),
            windowCount: CountView(42),
            sparkline: SVGChart.sparkline([0, 3, 1, 7, 0, 2], label: "\(errorClass) in the last 24 h")
        )
    }

    static func table(_ rows: [GroupRowView], showTeam: Bool = true) -> GroupsTableView {
        GroupsTableView(
            rows: rows,
            showTeam: showTeam,
            windowLabel: "Last 24 h",
            empty: EmptyStateView(title: "No exceptions", detail: "Nothing matches these filters.", action: ("Clear filters", "/groups"))
        )
    }

    static func chrome(title: String = "Groups", path: String = "/groups") -> PageChrome {
        PageChrome(
            product: "Canopy hub",
            title: title,
            nav: NavItem.items([("Overview", "/"), ("Groups", "/groups"), ("Leaves", "/leaves")], currentPath: path),
            footer: "canopy-hub · made \(WebFormat.absolute(now))"
        )
    }

    /// A bar chart of a day in hours, with one hour far above the rest.
    static var dayOfBars: [(time: Date, count: Int64)] {
        (0..<24).map { (hour: Int) -> (time: Date, count: Int64) in
            let count: Int64 = hour == 20 ? 1200 : Int64(hour % 5)
            return (now.addingTimeInterval(Double(hour - 24) * 3600), count)
        }
    }
}
