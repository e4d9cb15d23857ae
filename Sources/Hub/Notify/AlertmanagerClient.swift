import Foundation
import NIOHTTP1
import Shared

/// One discovered Alertmanager: where its API is and how it is reached (its set's timeout, TLS
/// and credentials).
struct Alertmanager: Hashable, Sendable {
    /// The `alertmanagers` entry it was discovered by, `alertmanagers[0]`.
    var set: String
    /// `scheme://address` and the alerts path (`__alerts_path__`): where alerts are posted, and
    /// its name in metrics, as in Prometheus.
    var alertsURL: String
    var settings: ScrapeSettings

    init(set: String, alertsURL: String, settings: ScrapeSettings) {
        self.set = set
        self.alertsURL = alertsURL
        self.settings = settings
    }

    init(_ target: ScrapeTarget) {
        self.init(set: target.service, alertsURL: target.url, settings: target.settings)
    }

    /// The v2 API's root, where `/silences` is beside `/alerts`.
    var apiURL: String {
        alertsURL.hasSuffix("/alerts") ? String(alertsURL.dropLast("/alerts".count)) : alertsURL
    }

    /// The Alertmanager as people name it: its address and path prefix, without the API path.
    var url: String {
        apiURL.hasSuffix("/api/v2") ? String(apiURL.dropLast("/api/v2".count)) : apiURL
    }
}

/// Why a call to an Alertmanager failed, naming it.
struct AlertmanagerError: Error, Sendable, CustomStringConvertible {
    enum Reason: Sendable {
        /// No answer: refused, timed out, TLS or credentials.
        case unreachable(String)
        /// It answered with an error status; its message.
        case refused(status: Int, message: String)
    }
    var alertmanager: String
    var reason: Reason

    var description: String {
        switch reason {
        case .unreachable(let text): "Alertmanager \(alertmanager): \(text)"
        case .refused(let status, let message): "Alertmanager \(alertmanager) answered HTTP \(status): \(message)"
        }
    }

    /// The request was wrong (a 4xx), as opposed to the Alertmanager being down.
    var isRefusal: Bool {
        if case .refused(let status, _) = reason { return (400..<500).contains(status) }
        return false
    }
}

/// Alertmanager's v2 API over HTTP: posting alerts, and making, listing and expiring silences.
struct AlertmanagerClient: Sendable {
    let fetcher: HTTPFetcher

    /// `POST /api/v2/alerts`.
    func post(_ alerts: [PostableAlert], to alertmanager: Alertmanager) async throws(AlertmanagerError) {
        let body = Self.encode(alerts)
        _ = try await call(.POST, alertmanager.alertsURL, body: body, alertmanager)
    }

    /// `POST /api/v2/silences`; the new silence's id.
    func create(_ silence: PostableSilence, in alertmanager: Alertmanager) async throws(AlertmanagerError) -> String {
        let answer = try await call(.POST, alertmanager.apiURL + "/silences", body: Self.encode(silence), alertmanager)
        guard let created = try? CanopyJSON.decoder().decode(CreatedSilence.self, from: Data(answer)) else {
            let reason = "the answer to a new silence has no silenceID: \(Self.text(answer))"
            throw AlertmanagerError(alertmanager: alertmanager.url, reason: .unreachable(reason))
        }
        return created.silenceID
    }

    /// `GET /api/v2/silences`: all of them, expired ones included.
    func silences(in alertmanager: Alertmanager) async throws(AlertmanagerError) -> [GettableSilence] {
        let answer = try await call(.GET, alertmanager.apiURL + "/silences", body: nil, alertmanager)
        do {
            return try CanopyJSON.decoder().decode([GettableSilence].self, from: Data(answer))
        } catch {
            throw AlertmanagerError(alertmanager: alertmanager.url, reason: .unreachable("its silences do not decode: \(error)"))
        }
    }

    /// `DELETE /api/v2/silence/{id}`; false when it has no silence of that id.
    func expire(id: String, in alertmanager: Alertmanager) async throws(AlertmanagerError) -> Bool {
        let path = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
        do {
            _ = try await call(.DELETE, alertmanager.apiURL + "/silence/" + path, body: nil, alertmanager)
            return true
        } catch {
            // 0.27 answers 404; 0.25 (Debian 12's) answers 500 "silence not found".
            if case .refused(let status, let message) = error.reason, status == 404 || message.contains("not found") { return false }
            throw error
        }
    }

    /// The answer's body when the status is 2xx.
    private func call(
        _ method: HTTPMethod, _ url: String, body: [UInt8]?, _ alertmanager: Alertmanager
    ) async throws(AlertmanagerError) -> [UInt8] {
        let answer: (status: Int, body: [UInt8])
        do {
            answer = try await fetcher.exchange(method, url, json: body, settings: alertmanager.settings)
        } catch {
            let text = if case .timeout(let timeout) = error { "no answer within \(DurationParser.format(timeout))" } else { error.description }
            throw AlertmanagerError(alertmanager: alertmanager.url, reason: .unreachable(text))
        }
        guard (200..<300).contains(answer.status) else {
            throw AlertmanagerError(alertmanager: alertmanager.url, reason: .refused(status: answer.status, message: Self.text(answer.body)))
        }
        return answer.body
    }

    private static func encode(_ value: some Encodable) -> [UInt8] {
        // Plain structs of strings and dates: encoding cannot fail.
        Array((try? CanopyJSON.encoder().encode(value)) ?? Data("null".utf8))
    }

    /// An error body as text: Alertmanager sends a JSON string or an object with a message.
    private static func text(_ body: [UInt8]) -> String {
        let raw = String(decoding: body.prefix(1000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let string = try? JSONDecoder().decode(String.self, from: Data(raw.utf8)) { return string }
        if let object = try? JSONDecoder().decode([String: String].self, from: Data(raw.utf8)), let message = object["message"] { return message }
        return raw.isEmpty ? "(no message)" : raw
    }

    private struct CreatedSilence: Decodable {
        var silenceID: String
    }
}
