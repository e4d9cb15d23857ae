import Foundation
import Periskop

/// One series of a group: the occurrences counted from targets with one set of target labels
/// (the labels after relabelling, without `instance` and the internal `__` ones). A group
/// reported by prod and staging targets has two series; its total is the sum of its series.
public struct ExceptionSeries: Codable, Sendable, Equatable {
    public var labels: Labels
    /// Only grows, like the group's total.
    public var total: Int

    public init(labels: Labels, total: Int) {
        self.labels = labels
        self.total = total
    }
}

/// Which of a target's labels make its series, and how many series a group may have.
///
/// Bounded as Prometheus bounds a scrape's labels: a label whose name or value is too long is
/// cut, and once a group has `maxSeriesPerGroup` series, occurrences from a new label set are
/// counted in the group's overflow series `{canopy_overflow="true"}` (documented, not an error:
/// the counts stay exact, only the slicing is lost).
public struct SeriesRule: Sendable, Equatable {
    /// Target labels that do not travel (`federation.drop_labels`).
    public var dropLabels: Set<String>
    public var maxSeriesPerGroup: Int
    public static let defaultMaxSeriesPerGroup = 100
    public static let maxNameBytes = 128
    public static let maxValueBytes = 1024
    /// The labels of the series past the limit.
    public static let overflow: Labels = ["canopy_overflow": "true"]
    /// Labels every exception series has of its own: a target label of one of these names is
    /// kept as `exported_<name>`, as Prometheus does when a scraped label clashes with its own.
    public static let ownLabels: Set<String> = ["team", "service", "aggregation_key", "class", "severity"]

    public init(dropLabels: Set<String> = [], maxSeriesPerGroup: Int = SeriesRule.defaultMaxSeriesPerGroup) {
        self.dropLabels = dropLabels
        self.maxSeriesPerGroup = maxSeriesPerGroup
    }

    /// The series labels of a target with `labels` (its labels after relabelling).
    public func seriesLabels(of labels: Labels) -> Labels {
        var result = Labels()
        for (name, value) in labels.values where !name.hasPrefix("__") && name != LabelName.instance && name != LabelName.service {
            guard !dropLabels.contains(name) else { continue }
            result[TextBounds.cut(Self.exported(name), to: Self.maxNameBytes, marker: "")] = TextBounds.cut(value, to: Self.maxValueBytes, marker: "")
        }
        return result
    }

    /// `name` as a series label: `exported_<name>` where the series has a label of that name of its own.
    public static func exported(_ name: String) -> String {
        ownLabels.contains(name) ? "exported_" + name : name
    }

    /// Adds `increase` to the series of `labels` in `series`, or to the overflow series when the
    /// group already has as many series as it may.
    public func add(_ increase: Int, labels: Labels, to series: inout [ExceptionSeries]) {
        if let index = series.firstIndex(where: { $0.labels == labels }) {
            series[index].total += increase
            return
        }
        let target = series.count < maxSeriesPerGroup ? labels : Self.overflow
        if let index = series.firstIndex(where: { $0.labels == target }) {
            series[index].total += increase
        } else {
            series.append(ExceptionSeries(labels: target, total: increase))
        }
    }
}
