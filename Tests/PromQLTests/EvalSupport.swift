import Foundation
@testable import PromQL

/// `x{a="1", b="2"}` as a label set (parsed as a selector, its `=` matchers taken as labels).
func labels(_ text: String) -> Labels {
    guard case .vectorSelector(let selector) = try? PromQLParser.parse(text) else { return Labels() }
    return Labels(selector.matchers.filter { $0.type == .equal }.map { ($0.name, $0.value) })
}

/// Minutes as milliseconds, for readable times.
func minutes(_ count: Double) -> Timestamp { Timestamp(count * 60_000) }

/// Samples `values` at `start`, `start + every`, … (nil leaves a gap).
func sampled(_ series: String, start: Timestamp = 0, every: Timestamp = 15_000, _ values: [Double?]) -> SourceSeries {
    let samples = values.enumerated().compactMap { index, value in value.map { Sample(t: start + Timestamp(index) * every, v: $0) } }
    return SourceSeries(labels: labels(series), data: .samples(samples))
}

/// A step series from (time, value) points.
func stepped(_ series: String, _ points: [(Timestamp, Double)]) -> SourceSeries {
    SourceSeries(labels: labels(series), data: .steps(points.map { Sample(t: $0.0, v: $0.1) }))
}

/// Evaluation with the default engine, throwing QueryError or a parse error.
func evalInstant(_ query: String, at time: Timestamp, _ source: some SeriesSource, limits: QueryLimits = .default) async throws
    -> QueryValue
{
    try await QueryEngine(limits: limits).instant(PromQLParser.parse(query), at: time, source: source)
}

func evalRange(
    _ query: String, start: Timestamp, end: Timestamp, step: Timestamp, _ source: some SeriesSource, limits: QueryLimits = .default
) async throws -> QueryValue {
    try await QueryEngine(limits: limits).range(PromQLParser.parse(query), start: start, end: end, step: step, source: source)
}

/// A compact text of a result: `{a="1"} 3` per element; matrices `{a="1"} 1@60 2@120` (times in
/// seconds); scalars `scalar 3`.
func render(_ value: QueryValue) -> [String] {
    func number(_ v: Double) -> String { GoText.formatFloat(v) }
    func seconds(_ t: Timestamp) -> String { t % 1000 == 0 ? String(t / 1000) : String(Double(t) / 1000) }
    switch value {
    case .scalar(let sample): return ["scalar \(number(sample.v))"]
    case .string(_, let text): return ["string \(text)"]
    case .vector(let elements): return elements.map { "\($0.labels) \(number($0.sample.v))" }
    case .matrix(let series):
        return series.map { item in
            "\(item.labels) " + item.samples.map { "\(number($0.v))@\(seconds($0.t))" }.joined(separator: " ")
        }
    }
}

/// The message of the error a query throws, or nil.
func evalError(_ query: String, at time: Timestamp, _ source: some SeriesSource, limits: QueryLimits = .default) async -> QueryError? {
    do {
        _ = try await evalInstant(query, at: time, source, limits: limits)
        return nil
    } catch let error as QueryError {
        return error
    } catch {
        return QueryError(.execution, "not a query error: \(error)")
    }
}
