import Foundation
import Periskop

/// A time as the hub's APIs take it, Prometheus's way: Unix seconds (fractions allowed) or RFC 3339.
enum APITime {
    static func parse(_ text: String) -> Date? {
        if let seconds = Double(text), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        return RFC3339.date(from: text)
    }
}
